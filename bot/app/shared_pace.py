"""One pace for the bot token across every worker (PostgreSQL).

Telegram's limits are per bot token: about 30 messages a second overall and 20 a minute per
group (and about a message a second per chat, with short bursts allowed). Each worker pacing itself at 30/s would
let three workers send 90/s and earn 429s. Here every paced call first reserves its place in the
database (storage/queries/pace.py), on the overall key and on its group's key, and waits its turn;
a 429 on a shared key holds every worker back for its retry_after. On SQLite, one process: the
in-process limiter in bot/app/bot_api.py paces alone.

If the database does not answer, the call falls back to the worker's own pacing (logged once a
minute): a message delayed by a database fault would be worse than a rare 429, which is waited
out anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.queries import pace as queries
from storage.queries.pace import Pace

log = logging.getLogger(__name__)

PAID_PER_SECOND = 1000.0  # Telegram's paid broadcasts
# Messages a second, burst: a little under Telegram's 20 a minute. Paced at exactly the limit,
# the jitter of the requests' way to Telegram earned the staff group a 429 every 100 cards or so
# (bench/scale_out_bench.py).
GROUP = (19.0 / 60.0, 19)
FORGET_EVERY = 1000  # reservations between two sweeps of idle groups' keys
IDLE_SECONDS = 60.0
WARN_EVERY_SECONDS = 60.0


def pace_of(key: str, per_second: float, burst: float) -> Pace:
    step = 1.0 / per_second
    return Pace(key, step, max(0.0, burst - 1.0) * step)


class SharedPace:
    def __init__(self, db: Database, overall_per_second: float, overall_burst: float) -> None:
        self.db = db
        self.overall = pace_of("overall", overall_per_second, overall_burst)
        self.paid = pace_of("paid", PAID_PER_SECOND, PAID_PER_SECOND)
        self._reserved = 0
        self._warned_at = 0.0

    def paces(self, group: int | str | bool, paid: bool) -> list[Pace]:
        """The keys a message counts against: overall (or paid), and its group's.

        A person's private chat has no shared key: one citizen's updates are handled by one
        worker at a time (the inbox), Telegram allows short bursts there, and the rare 429 of a
        notice crossing a reply is waited out by that one call (bot/app/bot_api.py)."""
        paces = [self.paid if paid else self.overall]
        if group:
            paces.append(pace_of(f"chat:{group}", *GROUP))
        return paces

    async def wait_turn(self, group: int | str | bool, paid: bool) -> bool:
        """Reserve and wait; False when the database could not be asked (pace locally)."""
        try:
            async with self.db.write() as session:
                wait = await queries.reserve(session, self.paces(group, paid))
                self._reserved += 1
                if self._reserved % FORGET_EVERY == 0:
                    await queries.forget_idle(session, IDLE_SECONDS)
        except (SQLAlchemyError, OSError) as error:
            self._warn(error)
            return False
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    async def hold_back(self, group: int | str | bool, seconds: float) -> None:
        """A 429 on the overall rate or a group's: every worker waits it out."""
        key = f"chat:{group}" if group else self.overall.key
        try:
            async with self.db.write() as session:
                await queries.hold_back(session, key, seconds)
        except (SQLAlchemyError, OSError) as error:
            self._warn(error)

    def _warn(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "shared pacing unavailable (%s): this worker paces alone meanwhile",
                type(error).__name__,
            )
