"""What moderators should look at twice: personal data, links, and text that is not a report.

Found automatically on every new report and shown on its card; `mask_personal_data` offers the
moderator a redacted text to start from.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.i18n.translate import N_, _


class Flag(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    LINK = "link"
    SHORT = "short"
    REPEATED = "repeated"
    DUPLICATE = "duplicate"


_LABELS = {
    Flag.PHONE: N_("phone number"),
    Flag.EMAIL: N_("e-mail address"),
    Flag.ID_NUMBER: N_("ID-card-like number"),
    Flag.LINK: N_("link"),
    Flag.SHORT: N_("very short text"),
    Flag.REPEATED: N_("repeated text"),
    Flag.DUPLICATE: N_("possible duplicate"),
}

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
LINK = re.compile(
    r"(?:https?://|www\.|t\.me/)\S+|\b[\w-]+\.(?:com|org|net|ng|gov|info|io|me|ly)\b(?:/\S*)?",
    re.IGNORECASE,
)
# A phone number: an optional +, then 9 to 15 digits with spaces, dots, dashes or brackets between.
PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d(?:[\s().-]?\d){8,14}(?![\w])")
# National ID, voter card, passport: letters and digits run together, at least 8 digits in all.
ID_NUMBER = re.compile(r"\b(?=[A-Z0-9]*\d{8})[A-Z]{0,3}\d{8,20}[A-Z]?\b")
REPEATED_CHARS = re.compile(r"(.)\1{7,}")
SHORT_TEXT = 20


def _looks_like_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    # Mobile numbers start with a country code or a trunk 0; long plain runs are more likely IDs.
    return candidate.lstrip().startswith(("+", "00", "0")) or (
        bool(re.search(r"[\s().-]", candidate)) and 9 <= len(digits) <= 15
    )


def find_flags(text: str | None) -> set[Flag]:
    """Flags for a report's text (voice notes have none we can see)."""
    if not text:
        return set()
    flags: set[Flag] = set()
    if EMAIL.search(text):
        flags.add(Flag.EMAIL)
    without_email = EMAIL.sub(" ", text)
    if LINK.search(without_email):
        flags.add(Flag.LINK)
    for match in PHONE.finditer(without_email):
        flags.add(Flag.PHONE if _looks_like_phone(match.group(0)) else Flag.ID_NUMBER)
    if ID_NUMBER.search(without_email.upper()) and Flag.PHONE not in flags:
        flags.add(Flag.ID_NUMBER)
    if len(text.strip()) < SHORT_TEXT:
        flags.add(Flag.SHORT)
    words = text.lower().split()
    if REPEATED_CHARS.search(text) or (len(words) >= 4 and len(set(words)) <= len(words) // 3):
        flags.add(Flag.REPEATED)
    return flags


def mask_personal_data(text: str) -> str:
    """The text with e-mail addresses, links, phone and ID numbers replaced by [...]."""
    masked = EMAIL.sub("[…]", text)
    masked = LINK.sub("[…]", masked)
    masked = PHONE.sub("[…]", masked)
    return ID_NUMBER.sub("[…]", masked)


def flag_label(flag: Flag) -> str:
    return _(_LABELS[flag])
