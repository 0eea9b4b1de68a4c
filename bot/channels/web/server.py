"""The bot's own web server, started by BotRunner when WEB_PORT is set.

It serves the public side (the web pages, bot/channels/web/pages/; Open311 GeoReport v2 under
/open311/, bot/channels/web/open311.py, with POST requests for partner channels holding an API
key; the open data as files under /data/, downloads.py; public reports' photos under /media/,
photos.py), the agencies' status endpoint (POST /agency/<code>/status, bot/channels/web/status.py)
and the load balancer's GET /healthz (health.py). Every answer carries security headers; nothing
it serves identifies a citizen. There is no access log: a URL could carry a secret someone put
there by mistake.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels.web import downloads, health, open311, pages, photos, status
from bot.channels.web.keys import FIGURES, SERVICES
from bot.core.memo import Memo
from bot.core.services import Services

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Data: nothing may run a script, frame or load anything. The pages set their own policy
    # (bot/channels/web/pages/common.py PAGE_CSP): their own style sheets and scripts only.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # On every answer, the router's 404 and 405 included; a page's own policy is kept.
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _close_figures(app: web.Application) -> None:
    await app[FIGURES].close()


def application(
    services: Services, *, read_only: bool = False, figures: Memo | None = None
) -> web.Application:
    """Every route; read_only (`run_bot.py serve-web`) leaves out the agencies' status
    endpoint, the one route that writes. `figures` keeps the pages' computed figures (a new
    memo by default), and is emptied when the application stops."""
    app = web.Application(client_max_size=status.MAX_BODY)
    app[SERVICES] = services
    app[FIGURES] = figures if figures is not None else Memo()
    app.on_cleanup.append(_close_figures)
    app.on_response_prepare.append(_security_headers)
    if not read_only:
        status.add_routes(app)
    open311.add_routes(app, accept_posts=not read_only)
    downloads.add_routes(app)
    health.add_routes(app)
    photos.add_routes(app)
    pages.add_routes(app)
    return app


class AgencyWebServer:
    """The server's life: start() binds WEB_LISTEN:WEB_PORT, stop() closes it."""

    def __init__(self, services: Services, *, read_only: bool = False) -> None:
        self._services = services
        self._read_only = read_only
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        # The pages' computed figures, for this process (PUBLIC_FIGURES_CACHE_SECONDS).
        self.figures = Memo()

    def application(self) -> web.Application:
        return application(self._services, read_only=self._read_only, figures=self.figures)

    async def start(self) -> None:
        settings = self._services.settings
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.web_listen, settings.web_port)
        await site.start()
        # WEB_PORT=0 (tests) lets the system choose: keep what it chose.
        self.port = self._runner.addresses[0][1]
        log.info(
            "web server (pages, Open311, status endpoint) on %s:%s", settings.web_listen, self.port
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
