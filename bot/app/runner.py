"""Start and stop the bot: migrate, initialize, set the menu, then poll or listen for webhooks.

One code path for the command line, the sandbox, the tests and the benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from telegram import Update

from bot.app.application import AppType, HandlerRegistrar, build_application
from bot.app.bot_api import outbox_senders
from bot.app.command_menu import publish_command_menu
from bot.channels.agency_senders import warn_about_channels
from bot.channels.telegram import build_senders
from bot.channels.web import AgencyWebServer
from bot.core.services import Services
from bot.digests.delivery import schedule_digests
from bot.outbox.dispatcher import OutboxDispatcher
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)


class BotRunner:
    def __init__(
        self,
        services: Services,
        token: str,
        register_handlers: HandlerRegistrar,
        *,
        poll_timeout: int = 10,
    ) -> None:
        self.services = services
        self.application: AppType = build_application(services, token, register_handlers)
        # The outbox retries on its own schedule: its sends are marked so that the request layer
        # does not retry them as well.
        senders = outbox_senders(build_senders(services, self.application.bot))
        self.dispatcher = OutboxDispatcher(services, senders)
        # The agencies' status endpoint, only when WEB_PORT is set.
        self.web = AgencyWebServer(services) if services.settings.web_port is not None else None
        self._poll_timeout = poll_timeout
        self._started = False

    @property
    def bot(self):
        return self.application.bot

    async def start(self) -> None:
        settings = self.services.settings
        await upgrade_to_head(self.services.db)
        await self.application.initialize()
        await publish_command_menu(self.application.bot, settings.default_locale)
        await self.application.start()
        self.dispatcher.start()
        await warn_about_channels(self.services)
        if self.web is not None:
            await self.web.start()
        schedule_digests(self.application)
        updater = self.application.updater
        assert updater is not None
        if settings.webhook_url:
            secret = settings.webhook_secret or secrets.token_urlsafe(32)
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info(
                "listening for webhooks on %s:%s", settings.webhook_listen, settings.webhook_port
            )
        else:
            await updater.start_polling(
                poll_interval=0.0,
                timeout=self._poll_timeout,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
            log.info("polling for updates")
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            await self.application.shutdown()
            return
        self._started = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.web is not None:
            await self.web.stop()
        await self.dispatcher.stop()
        await self.services.http.close()  # the webhooks' one HTTP session
        await self.application.stop()
        await self.application.shutdown()

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
