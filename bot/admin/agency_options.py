"""Checking the values an admin gives for an agency: names, time zone, digest, channels."""

from __future__ import annotations

import re
import sys
from datetime import time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.admin.common import UsageError
from bot.admin.records import AGENCY_CODE, MAX_AGENCY_CODE_LENGTH, check_language

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGESTS = ("daily", "weekly", "off")
MIN_SECRET_LENGTH = 16
MAX_INVITE_VALIDITY = timedelta(days=30)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def agency_code(raw: str) -> str:
    code = raw.strip()
    if not code or len(code) > MAX_AGENCY_CODE_LENGTH or not AGENCY_CODE.match(code):
        raise UsageError(
            f"CODE: {raw!r} is not an agency code: use 1-{MAX_AGENCY_CODE_LENGTH} letters, "
            "digits or . _ / -, starting with a letter or digit"
        )
    return code


def names(pairs: list[str]) -> dict[str, str]:
    """LANG=TEXT pairs; an empty TEXT (LANG=) stays in the result and means "remove"."""
    result: dict[str, str] = {}
    for pair in pairs:
        language, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(
                f"--name: expected LANG=TEXT such as en='Ministry of Works', got {pair!r}"
            )
        try:
            result[check_language(language, "--name")] = " ".join(text.split())
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return result


def timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone: {raw!r} is not an IANA time zone such as Africa/Lagos or Europe/Kyiv"
        ) from None
    return raw


def digest_time(raw: str) -> time:
    match = _TIME.match(raw.strip())
    if not match:
        raise UsageError(f"--digest-time: expected HH:MM on a 24-hour clock, got {raw!r}")
    return time(int(match[1]), int(match[2]))


def weekday(raw: str) -> int:
    """Monday is 0, as in datetime.weekday()."""
    key = raw.strip().lower()
    if key not in WEEKDAYS:
        raise UsageError(f"--digest-weekday: expected one of {', '.join(WEEKDAYS)}, got {raw!r}")
    return WEEKDAYS.index(key)


def webhook_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook-url: expected an https:// URL, got {raw!r}")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        # Reports carry citizens' words and locations: only local tests may skip TLS.
        raise UsageError("--webhook-url: use https:// (plain http is accepted for localhost only)")
    return raw.strip()


def webhook_secret(raw: str) -> str:
    secret = sys.stdin.readline().strip() if raw == "-" else raw.strip()
    if len(secret) < MIN_SECRET_LENGTH or any(ch.isspace() for ch in secret):
        raise UsageError(
            f"--webhook-secret: use at least {MIN_SECRET_LENGTH} characters without spaces "
            "(e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return secret


def email(raw: str) -> str:
    address = raw.strip()
    if not _EMAIL.match(address):
        raise UsageError(f"--email: {raw!r} is not an e-mail address")
    return address


def invite_validity(raw: str) -> timedelta:
    match = _DURATION.match(raw.strip().lower())
    if not match or int(match[1]) == 0:
        raise UsageError(f"--expires-in: expected a duration such as 30m, 72h or 7d, got {raw!r}")
    validity = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if validity > MAX_INVITE_VALIDITY:
        raise UsageError("--expires-in: at most 30d; create a new invite when one runs out")
    return validity


def mask_secret(secret: str | None) -> str:
    """Enough to tell two secrets apart, never enough to use one."""
    if not secret:
        return "none"
    return "****" + secret[-4:] if len(secret) >= MIN_SECRET_LENGTH else "****"
