"""The outbox dispatcher: delivers queued messages with retries, and survives restarts.

A message is claimed with a lease, sent, then marked sent; if the process dies in between, the
lease runs out and another dispatcher (or this one after a restart) sends it. A message in parts
(a moderation card) records each part Telegram accepted as it goes, and a retry resumes after it;
what the bot must remember about a sent message is written in the same transaction that marks it
sent (OnSent), ahead of the process's other writers. Telegram's
retry_after is honoured; a chat that blocked the bot or does not exist fails for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.core.services import Services
from bot.outbox.queue import Kind
from storage.queries import outbox as queries

log = logging.getLogger(__name__)

# Seconds to wait before attempt 2, 3, ...; after the last, the message is marked failed.
# Telegram's transient errors (a 502, a dropped connection) mostly clear within seconds, so the
# first five tries come within 83 s; the long tail (10 min to 5 h) outlasts an outage of hours.
RETRY_DELAYS = (1, 2, 5, 15, 60, 600, 1800, 7200, 18000)
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


# Writes a message's progress durably: (message id, progress) -> None.
ProgressWriter = Callable[[int, dict[str, Any]], Awaitable[None]]


@dataclass
class Parts:
    """A message sent in parts (a card's voice note, photos, then its text): what earlier tries
    got through, and the way to record each part as soon as Telegram has answered for it.

    A retry resumes after the last recorded part; a part is never sent again once it is recorded
    as accepted. `last_try` says the part in hand has used up its retry schedule."""

    message_id: int = 0
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    tries: int = 0
    max_tries: int = len(RETRY_DELAYS)
    writer: ProgressWriter | None = field(default=None, repr=False)

    @property
    def last_try(self) -> bool:
        return self.tries >= self.max_tries

    def ids(self, name: str) -> list[int] | None:
        """The message ids Telegram gave the part, if it was accepted."""
        entry = self.done.get(name)
        return list(entry["ids"]) if entry is not None and "ids" in entry else None

    def lost(self, name: str) -> bool:
        return "lost" in self.done.get(name, {})

    def __contains__(self, name: str) -> bool:
        return name in self.done

    async def accepted(self, name: str, message_ids: list[int]) -> None:
        await self._record(name, {"ids": message_ids})

    async def give_up(self, name: str, why: str, *, refused: bool = False) -> None:
        """Go on without this part: Telegram refused it for good (refused), or its tries ran
        out."""
        log.warning("outbox message %s: part %s left out: %s", self.message_id, name, why)
        await self._record(name, {"lost": why[:300], "refused": refused})

    async def _record(self, name: str, entry: dict[str, Any]) -> None:
        if self.writer is None:
            raise RuntimeError("these parts are not bound to an outbox message")
        self.done[name] = entry
        self.tries = 0  # the next part has its own schedule
        await self.writer(self.message_id, {"parts": self.done})


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from the session that claimed it."""

    id: int
    kind: str
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int
    parts: Parts = field(default_factory=Parts)


class PermanentFailure(Exception):
    """The sender knows a retry cannot help (e.g. the report no longer exists)."""


class TemporaryFailure(Exception):
    """The other side failed this time (an HTTP 5xx, an SMTP 4xx): retry on the schedule."""


# Done in the same transaction that marks the message sent: what the bot must remember about
# it (a card's chat and message id), so there is no moment when it is sent but not recorded.
OnSent = Callable[[AsyncSession], Awaitable[None]]
# A sender may return an OnSent; a message in parts records each part through message.parts.
Sender = Callable[[Outgoing], Awaitable[OnSent | None]]


class OutboxDispatcher:
    def __init__(
        self,
        services: Services,
        senders: Mapping[str, Sender],
        *,
        batch_size: int = 20,
        idle_seconds: float = 1.0,
        lease: timedelta = LEASE,
    ) -> None:
        self._services = services
        self._lease = lease
        self._senders = dict(senders)
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = services.outbox_bell
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def senders(self) -> Mapping[str, Sender]:
        return self._senders

    def wake(self) -> None:
        """Something was queued: look now instead of at the next idle tick."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self, grace_seconds: float = 10.0) -> bool:
        """Claim nothing more; finish the message in hand in each chat's line (so nothing is
        sent twice) and hand the rest of the batch back, then stop. False when the message in
        hand outlasted `grace_seconds` and was cut off (its lease runs out, and it is sent
        again by whichever dispatcher claims it next)."""
        if self._task is None:
            return True
        self._stopping = True
        self._wake.set()
        finished = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            finished = False
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._stopping = False
        return finished

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
            rows = await queries.claim_due(session, now, now + self._lease, self._batch_size)
            batch = [
                Outgoing(
                    r.id,
                    r.kind,
                    r.chat_id,
                    dict(r.payload),
                    r.attempts,
                    Parts(
                        r.id,
                        dict((r.progress or {}).get("parts", {})),
                        r.tries,
                        len(_delays(r.kind)),
                        self._save_progress,
                    ),
                )
                for r in rows
            ]
        # One chat's messages in their order; different chats at once, so that a fan-out is
        # paced by Telegram's limits (or a paid broadcast's 1,000/s), not by one round trip at
        # a time. Messages with no chat (webhooks, e-mail) keep their order in one line too.
        lines: dict[int | None, list[Outgoing]] = {}
        for message in batch:
            lines.setdefault(message.chat_id, []).append(message)
        in_hand = {message.id for message in batch}
        keeper = asyncio.create_task(self._keep_leases(in_hand), name="outbox leases")
        try:
            await asyncio.gather(
                *(self._deliver_in_order(line, in_hand) for line in lines.values())
            )
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        return len(batch)

    async def _deliver_in_order(self, line: list[Outgoing], in_hand: set[int]) -> None:
        for position, message in enumerate(line):
            if self._stopping:
                # Hand the rest back at once instead of waiting for their leases to run out.
                await self._release(line[position:])
                return
            await self._deliver(message)
            in_hand.discard(message.id)

    async def _keep_leases(self, in_hand: set[int]) -> None:
        """Renew the leases of the batch's messages not yet sent, three times per lease. A
        line can wait long for its chat's pace (a staff group takes 19 messages a minute,
        shared by every worker): a lease that ran out meanwhile would let another dispatcher
        send the same card."""
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with self._services.db.bookkeeping() as session:
                    await queries.extend_leases(
                        session, sorted(in_hand), self._services.clock() + self._lease
                    )
            except (SQLAlchemyError, OSError) as error:
                log.warning("outbox: could not renew leases (%s)", type(error).__name__)

    async def _release(self, messages: list[Outgoing]) -> None:
        async with self._services.db.write() as session:
            for message in messages:
                await queries.release(session, message.id)

    async def _save_progress(self, message_id: int, progress: dict[str, Any]) -> None:
        # Telegram has just accepted a part: record it before anything else waiting to write.
        async with self._services.db.write(urgent=True) as session:
            await queries.save_progress(session, message_id, progress)

    async def _deliver(self, message: Outgoing) -> None:
        sender = self._senders.get(message.kind)
        try:
            if sender is None:
                raise PermanentFailure(f"no sender for kind {message.kind!r}")
            on_sent = await sender(message)
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
            await self._sent(message, on_sent)

    async def _sent(self, message: Outgoing, on_sent: OnSent | None = None) -> None:
        # Urgent: between Telegram's answer and this commit, a crash would send it again.
        async with self._services.db.write(urgent=True) as session:
            await queries.mark_sent(session, message.id, self._services.clock())
            if on_sent is not None:
                await on_sent(session)

    async def _retry_later(self, message: Outgoing, error: str) -> None:
        # The schedule counts the tries of the part in hand (of the whole message, if it is one
        # part): a card whose photos took three tries gives its text the full schedule again.
        delays = _delays(message.kind)
        tries = message.parts.tries
        if tries >= len(delays):
            await self._fail(message, error)
            return
        await self._retry(message, delays[tries], error)

    async def _retry(self, message: Outgoing, delay_seconds: float, error: str) -> None:
        log.warning("outbox message %s (%s) will be retried: %s", message.id, message.kind, error)
        async with self._services.db.write() as session:
            at = self._services.clock() + timedelta(seconds=delay_seconds)
            await queries.mark_retry(session, message.id, at, error)

    async def _fail(self, message: Outgoing, error: str) -> None:
        log.error("outbox message %s (%s) failed for good: %s", message.id, message.kind, error)
        async with self._services.db.write() as session:
            await queries.mark_failed(session, message.id, error)


def _delays(kind: str) -> tuple[int, ...]:
    return RETRY_DELAYS_BY_KIND.get(kind, RETRY_DELAYS)


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
