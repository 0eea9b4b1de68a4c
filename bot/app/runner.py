"""Start and stop the bot: migrate, initialize, set the menu, then poll or listen for webhooks.

One code path for the command line, the sandbox, the tests and the benchmarks.

Start-up talks to Telegram in three steps: getMe (initialize), the command menus (setMyCommands,
one per language) and deleteWebhook or setWebhook. Each call already has the request layer's
retries (bot/app/bot_api.py); getMe and the webhook step are tried again on top, STARTUP_ATTEMPTS
times with a growing pause, while Telegram is unreachable or answers 5xx. If it stays so, or
refuses the token, start() raises StartupError with one line saying what is wrong
(unreachable and why: DNS, refused, timed out, server errors; or the token refused). A command
menu that cannot be set is a warning and the bot starts without it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.app.application import AppType, HandlerRegistrar, build_application
from bot.app.bot_api import backoff, certainly_not_carried_out, describe, outbox_senders
from bot.app.command_menu import publish_command_menu
from bot.app.inbox import Inbox
from bot.app.update_processor import PerUserUpdateProcessor
from bot.channels.agency_senders import warn_about_channels
from bot.channels.telegram import build_senders
from bot.channels.web import AgencyWebServer
from bot.citizens.retention import schedule_retention
from bot.core.services import Services
from bot.digests.delivery import schedule_digests
from bot.outbox.dispatcher import OutboxDispatcher
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 5
STARTUP_BACKOFF_SECONDS = 2.0  # doubled each time, jittered: about a minute in all

T = TypeVar("T")


class StartupError(Exception):
    """The bot cannot start: Telegram unreachable, or the token refused. One line, no traceback."""


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def why_unreachable(error: BaseException, host: str) -> str:
    """What went wrong between us and the Bot API server, in words."""
    chain = _causes(error)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return f"the name {host} does not resolve (DNS)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        "All connection attempts failed" in str(e) for e in chain
    ):
        return "the connection was refused"
    if isinstance(error, TimedOut):
        return "it did not answer in time"
    if isinstance(error, RetryAfter):
        return "it keeps answering 429 Too Many Requests"
    if certainly_not_carried_out(error):
        return f"it answers with an error ({describe(error)})"
    return f"the connection failed ({error})"


class BotRunner:
    def __init__(
        self,
        services: Services,
        token: str,
        register_handlers: HandlerRegistrar,
        *,
        poll_timeout: int = 10,
        startup_attempts: int = STARTUP_ATTEMPTS,
        startup_backoff: float = STARTUP_BACKOFF_SECONDS,
    ) -> None:
        self.services = services
        self.inbox = Inbox(services)
        self.application: AppType = build_application(
            services, token, register_handlers, self.inbox
        )
        # The outbox retries on its own schedule: its sends are marked so that the request layer
        # does not retry them as well.
        senders = outbox_senders(build_senders(services, self.application.bot))
        self.dispatcher = OutboxDispatcher(services, senders)
        # The agencies' status endpoint, only when WEB_PORT is set.
        self.web = AgencyWebServer(services) if services.settings.web_port is not None else None
        self._poll_timeout = poll_timeout
        self._startup_attempts = startup_attempts
        self._startup_backoff = startup_backoff
        self._started = False

    @property
    def bot(self):
        return self.application.bot

    async def start(self) -> None:
        settings = self.services.settings
        await upgrade_to_head(self.services.db)
        secret = settings.webhook_secret or secrets.token_urlsafe(32)
        try:
            await self._talking_to_telegram("getMe", self.application.initialize)
            await publish_command_menu(self.application.bot, settings.default_locale)
            await self._bootstrap_updates(secret)
        except BaseException:
            await self._close_after_failed_start()
            raise
        await self.application.start()
        self.inbox.start(self.application.bot, self.application.update_queue.put_nowait)
        self.dispatcher.start()
        await warn_about_channels(self.services)
        if self.web is not None:
            await self.web.start()
        schedule_digests(self.application)
        schedule_retention(self.application)
        updater = self.application.updater
        assert updater is not None
        if settings.webhook_url:
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=self._webhook_url(),
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

    def _webhook_url(self) -> str:
        return (self.services.settings.webhook_url or "").rstrip("/") + "/telegram"

    async def _bootstrap_updates(self, secret: str) -> None:
        """deleteWebhook (polling) or setWebhook with start-up's patience. PTB's updater repeats
        the call when it starts, and then finds Telegram answering."""
        bot = self.application.bot
        if self.services.settings.webhook_url:
            await self._talking_to_telegram(
                "setWebhook",
                lambda: bot.set_webhook(
                    self._webhook_url(), secret_token=secret, allowed_updates=Update.ALL_TYPES
                ),
            )
        else:
            await self._talking_to_telegram("deleteWebhook", bot.delete_webhook)

    async def _close_after_failed_start(self) -> None:
        await self.application.shutdown()
        # A getMe that failed leaves the bot uninitialized, so shutdown() skips its HTTP clients.
        for request in getattr(self.application.bot, "_request", ()):
            await request.shutdown()

    async def _talking_to_telegram(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One start-up step against the Bot API, tried again while Telegram is unreachable."""
        base_url = self.services.settings.telegram_api_base_url
        host = urlsplit(base_url).hostname or base_url
        for attempt in range(1, self._startup_attempts + 1):
            try:
                return await call()
            except InvalidToken:
                # PTB's text names the token: never print it.
                raise StartupError(
                    f"Telegram ({host}) refused the bot token: check TELEGRAM_BOT_TOKEN"
                ) from None
            except BadRequest as error:
                raise StartupError(f"{what}: Telegram refused it: {error}") from None
            except (NetworkError, RetryAfter) as error:
                # Nothing at start-up is sent twice harmfully: every failure here is transient.
                reason = why_unreachable(error, host)
                if attempt == self._startup_attempts:
                    raise StartupError(
                        f"cannot reach the Bot API at {base_url} ({what}): {reason}; "
                        f"gave up after {attempt} attempts"
                    ) from None
                delay = backoff(attempt - 1, self._startup_backoff)
                log.warning(
                    "cannot reach the Bot API (%s): %s; trying again in %.1f s",
                    what,
                    reason,
                    delay,
                )
                await asyncio.sleep(delay)
            except TelegramError as error:
                raise StartupError(f"{what}: Telegram refused it: {error}") from None
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        """Drain, then shut down (SIGTERM and SIGINT come here, through run_until_stopped)."""
        if not self._started:
            await self.application.shutdown()
            return
        self._started = False
        await self._drain()
        if self.web is not None:
            await self.web.stop()  # after the drain: /healthz says "draining" until the end
        await self.services.http.close()  # the webhooks' one HTTP session
        await self.application.shutdown()

    async def _drain(self) -> None:
        """Mark the worker draining (/healthz answers 503 at once, so a load balancer stops
        sending), take no new updates (polling stops, confirming to Telegram only the updates
        already fetched; the webhook listener closes) and claim no new outbox messages; let the
        updates in hand and the outbox messages being sent finish, for up to DRAIN_SECONDS.

        Updates that arrive from now on stay with Telegram for the next worker. An update that
        outlasts the drain is cancelled; an outbox message cut off is sent again once its lease
        runs out."""
        seconds = self.services.settings.drain_seconds
        loop = asyncio.get_running_loop()
        began = loop.time()

        def left() -> float:
            return max(0.0, began + seconds - loop.time())

        self.services.draining = True
        processor = self.application.update_processor
        assert isinstance(processor, PerUserUpdateProcessor)
        log.info(
            "draining: no new updates or outbox work; %d update(s) in hand; up to %d s",
            processor.in_hand,
            seconds,
        )
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        await self.inbox.stop_claiming()
        outbox = asyncio.create_task(self.dispatcher.stop(grace_seconds=left()))
        # Handles what the updater had already passed on, and waits for the updates in hand
        # and the scheduled jobs running now.
        stopping = asyncio.create_task(self.application.stop())
        cut_off = 0
        done, _pending = await asyncio.wait({stopping}, timeout=left())
        if not done:
            cut_off = processor.cancel_in_hand()
        outbox_finished = await outbox
        await stopping
        await self.inbox.hand_back()
        if cut_off or not outbox_finished:
            log.warning(
                "drain ran out after %d s: %d update(s) cut off; outbox message in hand %s",
                seconds,
                cut_off,
                "finished" if outbox_finished else "cut off (sent again after its lease)",
            )
        else:
            log.info(
                "drained in %.1f s: updates in hand and outbox batch finished",
                loop.time() - began,
            )

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
