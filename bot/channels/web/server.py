"""The bot's own web server, started by BotRunner when WEB_PORT is set.

It serves the public side (Open311 GeoReport v2 under /open311/, bot/channels/web/open311.py,
with POST requests for partner channels holding an API key; the open data as files under /data/,
downloads.py) and the agencies' status endpoint (POST /agency/<code>/status,
bot/channels/web/status.py). Every answer carries security headers; nothing it serves identifies
a citizen. There is no access log: a URL could carry a secret someone put there by mistake.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels.web import downloads, open311, status
from bot.channels.web.keys import SERVICES
from bot.core.services import Services

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Data only so far: nothing on this server may run a script, frame or load anything.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # On every answer, the router's 404 and 405 included.
    response.headers.update(SECURITY_HEADERS)


def application(services: Services) -> web.Application:
    app = web.Application(client_max_size=status.MAX_BODY)
    app[SERVICES] = services
    app.on_response_prepare.append(_security_headers)
    status.add_routes(app)
    open311.add_routes(app)
    downloads.add_routes(app)
    return app


class AgencyWebServer:
    """The server's life: start() binds WEB_LISTEN:WEB_PORT, stop() closes it."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def application(self) -> web.Application:
        return application(self._services)

    async def start(self) -> None:
        settings = self._services.settings
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.web_listen, settings.web_port)
        await site.start()
        # WEB_PORT=0 (tests) lets the system choose: keep what it chose.
        self.port = self._runner.addresses[0][1]
        log.info("web server (Open311, status endpoint) on %s:%s", settings.web_listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
