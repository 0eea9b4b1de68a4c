"""Inline button payloads: short, versioned, and parsed defensively (anyone can forge them).

Draft buttons look like "d:<version>:<action>[:<argument>]"; the version ties a button to the
draft it was drawn for. Telegram allows at most 64 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64


@dataclass(frozen=True)
class DraftButton:
    version: int
    action: str
    argument: str = ""


def draft_button(version: int, action: str, argument: str | int = "") -> str:
    data = f"d:{version}:{action}" + (f":{argument}" if argument != "" else "")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_draft_button(data: str) -> DraftButton | None:
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != "d" or not parts[1].isdigit():
        return None
    return DraftButton(int(parts[1]), parts[2], parts[3] if len(parts) == 4 else "")


def int_argument(button: DraftButton) -> int | None:
    return int(button.argument) if button.argument.isdigit() else None
