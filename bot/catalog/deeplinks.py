"""Deep links that open the bot on a commitment (QR codes on signboards) or an official invite.

Telegram allows at most 64 characters of A-Z a-z 0-9 _ - in a start payload. A commitment code
that fits is carried as c_<CODE>; any other code is carried base64url-encoded as c64_<encoded>.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

MAX_PAYLOAD = 64
_PAYLOAD_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")


class PayloadTooLong(ValueError):
    """The commitment code cannot be carried in a start payload at all."""


@dataclass(frozen=True)
class StartPayload:
    kind: str  # "commitment", "join" or "unknown"
    value: str


def commitment_payload(code: str) -> str:
    plain = f"c_{code}"
    if len(plain) <= MAX_PAYLOAD and _PAYLOAD_CHARS.match(code):
        return plain
    encoded = base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")
    payload = f"c64_{encoded}"
    if len(payload) > MAX_PAYLOAD:
        raise PayloadTooLong(f"commitment code too long for a deep link: {code[:40]}...")
    return payload


def invite_payload(token: str) -> str:
    return f"join_{token}"


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def commitment_link(bot_username: str, code: str) -> str:
    return deep_link(bot_username, commitment_payload(code))


def parse_start_payload(payload: str) -> StartPayload:
    """Decode what /start carried; anything malformed comes back as kind "unknown"."""
    payload = payload.strip()
    if payload.startswith("c64_"):
        encoded = payload[4:]
        try:
            code = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return StartPayload("unknown", payload)
        return StartPayload("commitment", code)
    if payload.startswith("c_") and len(payload) > 2:
        return StartPayload("commitment", payload[2:])
    if payload.startswith("join_") and len(payload) > 5:
        return StartPayload("join", payload[5:])
    return StartPayload("unknown", payload)
