"""Per-user ordering: one user's updates are handled in order, different users' concurrently.

PTB's SimpleUpdateProcessor runs every update concurrently, so two quick messages of one citizen
could race on their draft. Here each user (or, for channel posts, each chat) has a lock; updates
queue on it in arrival order, while other users proceed in parallel.

An update takes its user's lock first and only then one of the global slots (at most
max_concurrent_updates run at once). The other way round, one account that sends hundreds of
updates would fill every slot with updates that merely wait for their turn, and nobody else
would be served: now a busy account holds at most one slot, however long its queue.

Before either, and before the update is even recorded in the inbox (bot/app/inbox.py calls
admit()), the flood limit (bot/app/flood.py) looks at the update: an account over
FLOOD_MESSAGES_PER_MINUTE has its updates dropped as they arrive, at the cost of a dict lookup;
they are never written, and never queue behind the account's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.app.flood import FloodGate, Verdict

log = logging.getLogger(__name__)


def ordering_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


# PTB's process_update() takes the base class's semaphore before do_process_update() is called,
# so that one is made too wide to ever wait; the real limit is applied after the user's lock.
_UNLIMITED = 2**31 - 1


def limited_sender(update: object, unlimited_chat: int | None) -> int | None:
    """Whose allowance the update counts against: a person's, unless in the staff group."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    chat = update.effective_chat
    if unlimited_chat is not None and chat is not None and chat.id == unlimited_chat:
        return None
    return update.effective_user.id


def flood_verdict(update: object, flood: FloodGate, unlimited_chat: int | None) -> Verdict:
    """The flood limit's word on an update as it arrives."""
    sender = limited_sender(update, unlimited_chat)
    if sender is None:
        return Verdict.PASS
    assert isinstance(update, Update)
    counts = update.message is not None or update.callback_query is not None
    return flood.admit(sender, update.update_id, counts=counts)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 256,
        *,
        flood: FloodGate | None = None,
        unlimited_chat: int | None = None,
    ) -> None:
        self.flood = flood
        self._unlimited_chat = unlimited_chat
        self._limit = max_concurrent_updates  # read by the base class's __init__
        super().__init__(max_concurrent_updates)
        # The base class sized its semaphore by max_concurrent_updates: widen it.
        self._semaphore = type(self._semaphore)(_UNLIMITED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # Updates admitted and not yet finished (running, or waiting for their user's turn): what
        # a drain counts (bot/app/runner.py), and cancels if they outlast DRAIN_SECONDS.
        self._in_hand: set[asyncio.Task[Any]] = set()
        # Told of every update that is through, handled or dropped (not of one cancelled): the
        # durable inbox marks it done (bot/app/inbox.py).
        self.on_finished: Callable[[object], Awaitable[None]] | None = None
        # Told, in the update's own task, just before its handler runs (bot/app/inbox.py).
        self.on_starting: Callable[[object], None] | None = None

    @property
    def max_concurrent_updates(self) -> int:
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        return self._limit - self._slots._value

    @property
    def in_hand(self) -> int:
        """Updates being handled or waiting for their user's turn."""
        return len(self._in_hand)

    def cancel_in_hand(self) -> int:
        """Cancel the updates still in hand (a drain ran out of time); returns how many."""
        tasks = [task for task in self._in_hand if not task.done()]
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        assert task is not None  # the application runs each update in a task of its own
        self._in_hand.add(task)
        if self.on_starting is not None:
            self.on_starting(update)
        try:
            await self._process(update, coroutine)
        except asyncio.CancelledError:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled before its turn came: never started
            raise
        except Exception:
            await self._finished(update)  # it failed: that is its outcome, not to be run again
            raise
        finally:
            self._in_hand.discard(task)
        await self._finished(update)

    async def _finished(self, update: object) -> None:
        if self.on_finished is not None:
            await self.on_finished(update)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                if self.flood is not None and self._outrun(update):
                    if isinstance(coroutine, Coroutine):
                        coroutine.close()
                    return
                await coroutine
        finally:
            # Forget the lock once nobody waits on it, so memory does not grow with users.
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    def admit(self, update: object) -> bool:
        """The flood limit's word as the update arrives, before anything is written: a flood
        is dropped here (bot/app/inbox.py asks) at the cost of a dict lookup."""
        if self.flood is None:
            return True
        verdict = flood_verdict(update, self.flood, self._unlimited_chat)
        if verdict is Verdict.SLOW_DOWN:
            assert isinstance(update, Update) and update.effective_user is not None
            log.info(
                "user %s sent more than the flood limit allows: ignored for a while",
                update.effective_user.id,
            )
        return verdict is not Verdict.DROP

    def _outrun(self, update: object) -> bool:
        """Admitted, but its sender went over the limit while it waited for its turn: it is
        part of the same flood, and dropped like what follows (all but the one answered)."""
        assert self.flood is not None and isinstance(update, Update)
        sender = limited_sender(update, self._unlimited_chat)
        return sender is not None and self.flood.cooling_down(sender, update.update_id)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def flood_gate(application: Application[Any, Any, Any, Any, Any, Any]) -> FloodGate | None:
    """The application's flood limit, for the handler that answers "please slow down"."""
    processor = application.update_processor
    return processor.flood if isinstance(processor, PerUserUpdateProcessor) else None
