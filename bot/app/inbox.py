"""The durable inbox: no update is lost when a worker dies, and one citizen's updates are handled
one at a time, in order, across every worker.

PTB hands each update it receives to its update queue: the webhook handler before it answers 200,
the poller before its next getUpdates moves the offset past it. DurableUpdateQueue.put() writes the
update to the database there (storage/queries/inbox.py), so by the time Telegram hears that an
update arrived, the update is on disk. Only then is it handed on to the application, and only if
this worker may handle it now; otherwise it waits in the database for its turn.

A worker holds what it handles with a lease that it renews while it lives. When the handler is
done, the update is marked done (PerUserUpdateProcessor calls finished()), and the sender's next
update, if another worker received it, is claimed at once. A worker that dies stops renewing: once
its lease runs out (INBOX_LEASE_SECONDS), any worker claims what it held and handles it again. A
second delivery of an update_id (a webhook retried, a getUpdates repeated after a crash) finds
its row and is not handled twice.

What "handled again" means: an update cut off halfway runs its handler once more. The handlers'
writes are idempotent per step (a draft's step is a state; the outbox's keys hold what was sent),
so a citizen sees the step answered, not a step to repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update

from bot.app.bot_api import backoff
from bot.app.update_processor import ordering_key
from bot.core.services import Services
from storage.models import InboxUpdate
from storage.queries import inbox as queries

log = logging.getLogger(__name__)

T = TypeVar("T")

# True while a handler runs an update that a worker took before and did not finish (it died, or
# its drain cut it off): its step may already be done, and the handler says so gently
# (handlers/replies.py). Set in the update's own task by PerUserUpdateProcessor.
handling_again: ContextVar[bool] = ContextVar("handling_again", default=False)

# How long done rows are kept, to recognise a second delivery of the same update: Telegram keeps
# an unconfirmed update for 24 hours.
KEEP_DONE = timedelta(hours=24)
PURGE_EVERY_SECONDS = 600.0
CLAIM_BATCH = 64
# How often a worker looks for updates it may take over (another worker's, handed back or left
# by a worker that died): the most a citizen waits once their turn has come.
CLAIM_EVERY_SECONDS = 0.5


def wall_clock() -> datetime:
    """Leases are compared across workers: always the real time, never a test's moved clock."""
    return datetime.now(UTC)


def worker_name() -> str:
    """Unique per process start: a restarted worker must not take its dead self's claims for
    live ones."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


class Inbox:
    """This worker's side of the inbox: recording, claiming, renewing, finishing."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.me = worker_name()
        self.lease = timedelta(seconds=services.settings.inbox_lease_seconds)
        self.bot: Bot | None = None
        self._hand_over: Callable[[Update], None] | None = None
        self._handed: set[int] = set()  # update ids handed to the application, not yet finished
        self._again: set[int] = set()  # of those, the ones a worker took before
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- the update queue's side -------------------------------------------------------------

    async def record(self, update: Update) -> bool:
        """Write the update; True when it is to be handled here and now."""
        now = wall_clock()
        payload = update.to_dict()
        digest = hashlib.sha256(
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

        async def write() -> bool:
            async with self.services.db.bookkeeping() as session:
                return await queries.record(
                    session,
                    update_id=update.update_id,
                    sender=ordering_key(update),
                    payload=payload,
                    digest=digest,
                    me=self.me,
                    now=now,
                    lease_until=now + self.lease,
                )

        mine = await self._persistently("record an update", write)
        if mine:
            self._handed.add(update.update_id)
        else:
            self._wake.set()  # a duplicate, or waiting for its turn: the claim loop looks
        return mine

    async def finished(self, update: object) -> None:
        """The application is done with an update (handled, or dropped by the flood limit)."""
        if not isinstance(update, Update) or update.update_id not in self._handed:
            return
        update_id = update.update_id

        async def write() -> list[Update]:
            now = wall_clock()
            async with self.services.db.bookkeeping() as session:
                sender = await queries.finish(session, update_id, now)
                if sender is None or self.services.draining:
                    return []
                # The sender's next update, if another worker received it while this one held
                # the sender's turn.
                rows = await queries.claim_ready(
                    session,
                    me=self.me,
                    now=now,
                    lease_until=now + self.lease,
                    limit=1,
                    sender=sender,
                )
                return [self._revive(row) for row in rows]

        following = await self._persistently("mark an update done", write)
        self._handed.discard(update_id)
        self._again.discard(update_id)
        for next_update in following:
            self._give(next_update)

    # --- the worker's loop -------------------------------------------------------------------

    def start(self, bot: Bot, hand_over: Callable[[Update], None]) -> None:
        self.bot = bot
        self._hand_over = hand_over
        self._tasks = [
            asyncio.create_task(self._run(), name="inbox"),
            asyncio.create_task(self._keep_leases(), name="inbox leases"),
        ]

    async def stop_claiming(self) -> None:
        """The drain begins: take nothing more from the inbox. (The leases are renewed until
        hand_back, so that what is still in hand stays this worker's.)"""
        await self._stop(self._tasks[:1])

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = [task for task in self._tasks if task not in tasks]

    async def hand_back(self) -> None:
        """The drain is over: hand back whatever this worker holds and did not finish (cut off,
        or never started), so that the next worker need not wait for the lease to run out."""
        await self._stop(self._tasks)
        try:
            async with self.services.db.bookkeeping() as session:
                released = await queries.release(session, self.me)
        except (SQLAlchemyError, OSError) as error:
            log.warning("could not hand back this worker's updates: %s", type(error).__name__)
            return
        if released:
            log.info("handed back %d update(s) not finished here", released)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        purge_at = loop.time()
        failing = False  # warned once per outage, not twice a second
        while True:
            # Not asyncio.wait_for: on Python 3.11 it can swallow the cancellation of a drain.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=CLAIM_EVERY_SECONDS)
            finally:
                waiter.cancel()
            self._wake.clear()
            try:
                await self._claim()
                if loop.time() >= purge_at:
                    await self._purge()
                    purge_at = loop.time() + PURGE_EVERY_SECONDS
            except (SQLAlchemyError, OSError) as error:
                # The database is away: the next round tries again; nothing is lost meanwhile.
                if not failing:
                    log.warning("inbox: database unavailable (%s)", type(error).__name__)
                failing = True
            else:
                if failing:
                    log.info("inbox: database back")
                failing = False

    async def _claim(self) -> None:
        now = wall_clock()
        # A read first: most rounds find nothing, and need not queue for SQLite's write lock.
        async with self.services.db.bookkeeping(writes=False) as session:
            ids = await queries.ready(session, me=self.me, now=now, limit=CLAIM_BATCH)
        if not ids:
            return
        async with self.services.db.bookkeeping() as session:
            rows = await queries.claim(
                session, ids, me=self.me, now=now, lease_until=now + self.lease
            )
            updates = [self._revive(row) for row in rows]
        for update in updates:
            self._give(update)

    async def _keep_leases(self) -> None:
        """Renew this worker's leases three times per lease, in a task of its own on the
        bookkeeping pool: however long a claim round or the handlers wait for the database,
        a live worker's leases do not run out (another worker would then handle its updates
        a second time)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            if not self._handed:
                continue  # nothing held: no write
            try:
                async with asyncio.timeout(every), self.services.db.bookkeeping() as session:
                    await queries.renew(session, self.me, wall_clock() + self.lease)
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                # The claim loop warns about an outage; here only what it means for leases.
                log.warning("inbox: could not renew leases (%s)", type(error).__name__)

    async def _purge(self) -> None:
        before = wall_clock() - KEEP_DONE
        async with self.services.db.read() as session:
            if not await queries.any_done_before(session, before):
                return
        async with self.services.db.write() as session:
            purged = await queries.purge_done(session, before)
        if purged:
            log.debug("inbox: forgot %d handled update(s)", purged)

    # --- helpers -----------------------------------------------------------------------------

    def _revive(self, row: InboxUpdate) -> Update:
        assert row.payload is not None  # open rows keep theirs
        update = Update.de_json(row.payload, self.bot)
        assert update is not None
        if row.attempts > 1:
            self._again.add(update.update_id)
        return update

    def starting(self, update: object) -> None:
        """In the update's own task, before its handler: say whether it is being run again."""
        handling_again.set(isinstance(update, Update) and update.update_id in self._again)

    def _give(self, update: Update) -> None:
        assert self._hand_over is not None
        self._handed.add(update.update_id)
        self._hand_over(update)

    async def _persistently(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """Try until the database takes it: an update not recorded must not be confirmed, and
        one not marked done would be handled again."""
        attempt = 0
        while True:
            try:
                return await write()
            except (SQLAlchemyError, OSError) as error:
                delay = min(5.0, backoff(attempt, 0.2))
                attempt += 1
                log.warning(
                    "inbox: could not %s (%s); trying again in %.1f s",
                    what,
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)


class DurableUpdateQueue(asyncio.Queue[object]):
    """PTB's update queue, with put() recording each update before the caller (the webhook
    handler, the poller) confirms it to Telegram."""

    def __init__(self, inbox: Inbox, admit: Callable[[Update], bool]) -> None:
        super().__init__()
        self.inbox = inbox
        self._admit = admit

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)  # the application's own stop signal
            return
        if not self._admit(item):
            return  # a flood: dropped as it arrives, never written
        if await self.inbox.record(item):
            self.put_nowait(item)
