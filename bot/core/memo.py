"""A short-lived memo of computed values, per process: what the public pages use so that an
expensive aggregate (the agencies' responsiveness over every report) is computed once in a while
rather than on every request.

A value is served for `ttl` seconds after it was computed. The first request after that starts
one computation in the background and, like every request until it is done, still gets the value
before: so a value is at most `ttl` seconds plus one computation old, and only the first request
for a key (nothing to serve yet) waits, concurrent ones sharing its computation. A `ttl` of 0 or
less computes on every call and keeps nothing. A computation that fails drops the key's value, so
that the next request computes it again itself and sees the error; a background failure is logged.

Only aggregates belong here (counts, medians): nothing that lists or shows a report, which must
leave the public pages the moment it stops being public. Keys are few (one per commitment, one
for the agencies' table), so nothing is evicted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry:
    value: Any
    expires: float


class Memo:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._running: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, ttl: float, compute: Callable[[], Awaitable[T]]) -> T:
        if ttl <= 0:
            return await compute()
        entry = self._entries.get(key)
        if entry is not None:
            if self.clock() >= entry.expires and key not in self._running:
                self._start(key, ttl, compute)
            return cast(T, entry.value)
        task = self._running.get(key) or self._start(key, ttl, compute)
        # A reader who goes away does not cancel the computation the others wait for.
        return cast(T, await asyncio.shield(task))

    def _start(
        self, key: Hashable, ttl: float, compute: Callable[[], Awaitable[T]]
    ) -> asyncio.Task[T]:
        task = asyncio.create_task(self._compute(key, ttl, compute))
        self._running[key] = task
        task.add_done_callback(self._log_failure)
        return task

    async def _compute(self, key: Hashable, ttl: float, compute: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await compute()
        except BaseException:
            self._entries.pop(key, None)
            raise
        finally:
            self._running.pop(key, None)
        self._entries[key] = _Entry(value, self.clock() + ttl)
        return value

    @staticmethod
    def _log_failure(task: asyncio.Task[Any]) -> None:
        # Retrieved here, so that asyncio never reports it as never retrieved.
        if not task.cancelled() and (problem := task.exception()) is not None:
            log.warning("computing a public figure failed: %r", problem)

    async def close(self) -> None:
        """Stop the computations under way (the server is stopping) and forget every value."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._entries.clear()
