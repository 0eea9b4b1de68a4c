"""The bot token's shared pace (storage/models.py SendPace), on PostgreSQL: each paced message
reserves its place on every key it counts against, in one statement, and learns how long to wait.

A generic cell rate algorithm per key, scheduling rather than refusing: with `step` seconds
between messages and a burst of `tolerance / step + 1`, a message is sent at
max(now, max(tat, now) - tolerance), and the key's tat moves to max(tat, now) + step. The clock
is the database's, the one clock every worker shares: clock_timestamp(), read when the row is
locked (now() is the transaction's start, which a queue for the row's lock would make stale)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Pace:
    key: str
    step: float  # seconds
    tolerance: float  # seconds


_RESERVE = text(
    """
    INSERT INTO send_pace AS p (key, tat, step, tolerance)
    SELECT key, clock_timestamp() + make_interval(secs => step), step, tolerance
    FROM unnest(CAST(:keys AS text[]), CAST(:steps AS float8[]), CAST(:tolerances AS float8[]))
        AS wanted(key, step, tolerance)
    ON CONFLICT (key) DO UPDATE
    SET tat = greatest(p.tat, clock_timestamp()) + make_interval(secs => excluded.step),
        step = excluded.step,
        tolerance = excluded.tolerance
    RETURNING greatest(0, extract(epoch FROM p.tat - clock_timestamp()) - p.step - p.tolerance)
    """
)


async def reserve(session: AsyncSession, paces: Sequence[Pace]) -> float:
    """Reserve one message on each key; the seconds to wait before sending it."""
    rows = await session.execute(
        _RESERVE,
        {
            "keys": [pace.key for pace in paces],
            "steps": [pace.step for pace in paces],
            "tolerances": [pace.tolerance for pace in paces],
        },
    )
    return max((float(wait) for (wait,) in rows), default=0.0)


async def hold_back(session: AsyncSession, key: str, seconds: float) -> None:
    """Telegram answered 429 on a shared key: nobody sends on it for `seconds`."""
    await session.execute(
        text(
            "UPDATE send_pace SET tat = greatest(tat, clock_timestamp() + make_interval(secs => :seconds)"
            " + make_interval(secs => tolerance)) WHERE key = :key"
        ),
        {"key": key, "seconds": seconds},
    )


async def forget_idle(session: AsyncSession, idle_seconds: float) -> int:
    """Drop the keys nobody has sent on for a while (a chat's key is one row per chat)."""
    result = await session.execute(
        text("DELETE FROM send_pace WHERE tat < clock_timestamp() - make_interval(secs => :idle)"),
        {"idle": idle_seconds},
    )
    return int(getattr(result, "rowcount", 0))
