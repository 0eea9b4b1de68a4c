"""Inline button payloads, "<prefix>:<number>:<action>[:<argument>]", parsed defensively.

Anyone can send any callback data, so parsing never trusts it: a malformed payload is None, and
the number (a draft version, a report id) is only a claim the caller must check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

MAX_BYTES = 64  # Telegram's limit for callback_data


@dataclass(frozen=True)
class ButtonData:
    key: int
    action: str
    argument: str = ""


B = TypeVar("B", bound=ButtonData)


def encode(prefix: str, key: int, action: str, argument: str | int = "") -> str:
    data = f"{prefix}:{key}:{action}" + (f":{argument}" if argument != "" else "")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(prefix: str, data: str, kind: type[B]) -> B | None:
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != prefix or not parts[1].isdigit():
        return None
    return kind(int(parts[1]), parts[2], parts[3] if len(parts) == 4 else "")
