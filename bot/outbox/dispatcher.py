"""The outbox dispatcher: delivers queued messages with retries, and survives restarts.

A message is claimed with a lease, sent, then marked sent; if the process dies in between, the
lease runs out and another dispatcher (or this one after a restart) sends it. Telegram's
retry_after is honoured; a chat that blocked the bot or does not exist fails for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.core.services import Services
from bot.outbox.queue import Kind
from storage.queries import outbox as queries

log = logging.getLogger(__name__)

# Seconds to wait before attempt 2, 3, ...; after the last, the message is marked failed.
RETRY_DELAYS = (5, 30, 120, 600, 1800, 7200, 18000)
# Agencies' own systems and mail servers can be down for hours (maintenance, a night without
# power): after the first try, 5 s, 5 min, 30 min, 2 h, 5 h and 10 h later, then failed.
AGENCY_RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000)
RETRY_DELAYS_BY_KIND: dict[str, tuple[int, ...]] = {
    Kind.AGENCY_WEBHOOK: AGENCY_RETRY_DELAYS,
    Kind.AGENCY_EMAIL: AGENCY_RETRY_DELAYS,
    Kind.DIGEST_EMAIL: AGENCY_RETRY_DELAYS,
    Kind.DIGEST_WEBHOOK: AGENCY_RETRY_DELAYS,
}
LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from the session that claimed it."""

    id: int
    kind: str
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int


class PermanentFailure(Exception):
    """The sender knows a retry cannot help (e.g. the report no longer exists)."""


class TemporaryFailure(Exception):
    """The other side failed this time (an HTTP 5xx, an SMTP 4xx): retry on the schedule."""


Sender = Callable[[Outgoing], Awaitable[None]]


class OutboxDispatcher:
    def __init__(
        self,
        services: Services,
        senders: Mapping[str, Sender],
        *,
        batch_size: int = 20,
        idle_seconds: float = 1.0,
    ) -> None:
        self._services = services
        self._senders = dict(senders)
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = services.outbox_bell
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Something was queued: look now instead of at the next idle tick."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the message in hand (so nothing is sent twice), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._stopping = False

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not stop delivery for good
                log.exception("outbox dispatcher failed; retrying")
                sent = 0
            if sent == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_seconds)

    async def drain_once(self) -> int:
        """Claim and deliver one batch; returns how many messages were attempted."""
        now = self._services.clock()
        async with self._services.db.write() as session:
            rows = await queries.claim_due(session, now, now + LEASE, self._batch_size)
            batch = [Outgoing(r.id, r.kind, r.chat_id, dict(r.payload), r.attempts) for r in rows]
        for position, message in enumerate(batch):
            if self._stopping:
                # Hand the rest back at once instead of waiting for their leases to run out.
                await self._release(batch[position:])
                break
            await self._deliver(message)
        return len(batch)

    async def _release(self, messages: list[Outgoing]) -> None:
        async with self._services.db.write() as session:
            for message in messages:
                await queries.release(session, message.id)

    async def _deliver(self, message: Outgoing) -> None:
        sender = self._senders.get(message.kind)
        try:
            if sender is None:
                raise PermanentFailure(f"no sender for kind {message.kind!r}")
            await sender(message)
        except RetryAfter as error:
            await self._retry(message, _seconds(error.retry_after), f"429 retry after {error}")
        except (Forbidden, PermanentFailure) as error:
            await self._fail(message, repr(error))
        except BadRequest as error:
            if "not modified" in str(error).lower():
                await self._sent(message)  # the card already shows this: nothing to do
            else:
                await self._fail(message, repr(error))
        except (TelegramError, OSError, TemporaryFailure) as error:
            await self._retry_later(message, repr(error))
        except Exception as error:
            log.exception("sending outbox message %s failed", message.id)
            await self._retry_later(message, repr(error))
        else:
            await self._sent(message)

    async def _sent(self, message: Outgoing) -> None:
        async with self._services.db.write() as session:
            await queries.mark_sent(session, message.id, self._services.clock())

    async def _retry_later(self, message: Outgoing, error: str) -> None:
        delays = RETRY_DELAYS_BY_KIND.get(message.kind, RETRY_DELAYS)
        if message.attempts >= len(delays):
            await self._fail(message, error)
            return
        await self._retry(message, delays[message.attempts], error)

    async def _retry(self, message: Outgoing, delay_seconds: float, error: str) -> None:
        log.warning("outbox message %s (%s) will be retried: %s", message.id, message.kind, error)
        async with self._services.db.write() as session:
            at = self._services.clock() + timedelta(seconds=delay_seconds)
            await queries.mark_retry(session, message.id, at, error)

    async def _fail(self, message: Outgoing, error: str) -> None:
        log.error("outbox message %s (%s) failed for good: %s", message.id, message.kind, error)
        async with self._services.db.write() as session:
            await queries.mark_failed(session, message.id, error)


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
