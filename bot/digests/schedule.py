"""When digests are due: each agency's schedule in its own time zone, and the periods it makes.

A period runs from one scheduled moment to the next (daily or weekly, at the agency's local
time), so the period a digest covers starts where the previous digest's ended. Local times are
turned into instants with zoneinfo: across a daylight-saving change a daily period is 23 or 25
hours long, a time skipped by the clock change (02:30 on the spring night) falls an hour later,
and a repeated one (the autumn night) takes its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAILY, WEEKLY, OFF = "daily", "weekly", "off"
# What /digest covers for an agency without a schedule.
UNSCHEDULED_SPAN = timedelta(days=7)


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad zone in the data must not stop every digest


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def _step(frequency: str) -> int:
    return 7 if frequency == WEEKLY else 1


def last_run(
    now: datetime, frequency: str, at: time, weekday: int, timezone: str | None
) -> datetime | None:
    """The latest scheduled moment at or before `now` (UTC), or None when digests are off."""
    if frequency not in (DAILY, WEEKLY):
        return None
    tz = zone(timezone)
    day = now.astimezone(tz).date()
    if frequency == WEEKLY:
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    moment = _at(day, at, tz)
    if moment > now:
        moment = _at(day - timedelta(days=_step(frequency)), at, tz)
    return moment


def scheduled_period(
    now: datetime, frequency: str, at: time, weekday: int, timezone: str | None
) -> Period | None:
    """The last period that has ended by `now`, or None when digests are off."""
    end = last_run(now, frequency, at, weekday, timezone)
    if end is None:
        return None
    return Period(_previous(end, frequency, at, timezone), end)


def current_period(
    now: datetime, frequency: str, at: time, weekday: int, timezone: str | None
) -> Period:
    """What /digest shows: from the end of the last scheduled period up to now."""
    start = last_run(now, frequency, at, weekday, timezone)
    if start is None:
        return Period(now - UNSCHEDULED_SPAN, now)
    if start == now:  # asked at the very moment a period ends: that period
        return Period(_previous(start, frequency, at, timezone), now)
    return Period(start, now)


def _previous(end: datetime, frequency: str, at: time, timezone: str | None) -> datetime:
    tz = zone(timezone)
    return _at(end.astimezone(tz).date() - timedelta(days=_step(frequency)), at, tz)
