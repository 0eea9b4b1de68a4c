"""Per-user ordering: one user's updates are handled in order, different users' concurrently.

PTB's SimpleUpdateProcessor runs every update concurrently, so two quick messages of one citizen
could race on their draft. Here each user (or, for channel posts, each chat) has a lock; updates
queue on it in arrival order, while other users proceed in parallel.

An update takes its user's lock first and only then one of the global slots (at most
max_concurrent_updates run at once). The other way round, one account that sends hundreds of
updates would fill every slot with updates that merely wait for their turn, and nobody else
would be served: now a busy account holds at most one slot, however long its queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


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


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256) -> None:
        self._limit = max_concurrent_updates  # read by the base class's __init__
        super().__init__(max_concurrent_updates)
        # The base class sized its semaphore by max_concurrent_updates: widen it.
        self._semaphore = type(self._semaphore)(_UNLIMITED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @property
    def max_concurrent_updates(self) -> int:
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        return self._limit - self._slots._value

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            # Forget the lock once nobody waits on it, so memory does not grow with users.
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
