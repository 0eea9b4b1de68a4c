"""Dates, numbers and distances in the reader's locale and the deployment's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

from bot.i18n import current_locale


def format_datetime(value: datetime, timezone: str = "UTC") -> str:
    return babel_format_datetime(
        value, format="medium", tzinfo=ZoneInfo(timezone), locale=current_locale()
    )


def format_number(value: float, digits: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=current_locale())


def format_distance(metres: float) -> str:
    if metres < 1000:
        return f"{format_number(round(metres))} m"
    return f"{format_number(metres / 1000, 1)} km"


def format_coordinates(latitude: float, longitude: float) -> str:
    # Coordinates stay in the ASCII form map apps accept, in every locale.
    return f"{latitude:.5f}, {longitude:.5f}"
