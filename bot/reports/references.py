"""Report references a citizen can read aloud or copy by hand: CW-7K3F9Q.

The alphabet leaves out 0/O and 1/I, so a reference cannot be misread; 32 symbols and six places
give about a billion references.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PREFIX = "CW-"
LENGTH = 6
_PATTERN = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{LENGTH}}}$")


def new_reference() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_reference(text: str) -> str | None:
    """Accept what people type (cw7k3f9q, CW 7K3F9Q) and return the canonical form, or None."""
    cleaned = re.sub(r"[\s\-_]", "", text.strip().upper()).removeprefix("CW")
    candidate = PREFIX + cleaned
    return candidate if _PATTERN.match(candidate) else None
