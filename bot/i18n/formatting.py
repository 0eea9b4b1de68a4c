"""Dates, numbers and distances in the reader's locale and the deployment's time zone.

Everything goes through Babel with the locale of the current reader (bot.i18n.translate.current_locale) and
Western digits, which every supported language reads and every keyboard can type back.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time, get_datetime_format
from babel.numbers import format_decimal
from babel.units import format_unit

from bot.i18n.translate import current_locale, ltr


def _zone(timezone: str | None) -> ZoneInfo:
    return ZoneInfo(timezone or "UTC")


def format_date(value: date | datetime, timezone: str = "UTC") -> str:
    """A day with the month's short name, e.g. "Mar 4, 2025", "4 mars 2025", "4 бер. 2025 р."."""
    if isinstance(value, datetime):
        value = value.astimezone(_zone(timezone))
    return format_skeleton("yMMMd", value, locale=current_locale())


def format_time_of_day(value: datetime, timezone: str = "UTC") -> str:
    """Hours and minutes in the locale's own clock (12 or 24 hours), e.g. "3:30 PM", "15:30"."""
    return format_time(value, "short", tzinfo=_zone(timezone), locale=current_locale())


def format_datetime(value: datetime, timezone: str = "UTC") -> str:
    """A moment in the deployment's time zone, to the minute, e.g. "Mar 4, 2025, 3:30 PM"."""
    locale = current_locale()
    local = value.astimezone(_zone(timezone))
    # Babel returns the "{1}, {0}" glue pattern as text for the medium width.
    pattern = str(get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", format_date(local, timezone)).replace(
        "{0}", format_time_of_day(local, timezone)
    )


def _pattern(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits else "")


def format_number(value: float, digits: int = 0) -> str:
    """Grouped digits in the locale's style: "2,000" (en), "2 000" (fr, uk), "2.000" (es, pt)."""
    return format_decimal(value, format=_pattern(digits), locale=current_locale())


def format_distance(metres: float) -> str:
    """Metres below a kilometre, kilometres with one decimal below 10 km, whole kilometres
    beyond ("4,980 km", not "4,980.0 km"), with the locale's unit."""
    if round(metres) < 1000:
        value, unit, digits = float(round(metres)), "length-meter", 0
    else:
        value, unit, digits = metres / 1000, "length-kilometer", 1 if metres < 9_950 else 0
    return format_unit(
        value, unit, length="short", format=_pattern(digits), locale=current_locale()
    )


def format_coordinates(latitude: float, longitude: float) -> str:
    # Coordinates stay in the ASCII form map apps accept, in every locale; in right-to-left text
    # they are isolated so that "10.57310, 7.44120" is not shown as "7.44120 ,10.57310".
    return ltr(f"{latitude:.5f}, {longitude:.5f}")
