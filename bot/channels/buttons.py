"""The button protocol: every inline button's callback data, built and read back here only.

One prefix per kind of button, all of them here:

    d:<draft version>:<action>[:<argument>]   a step of the citizen's draft
    m:<report id>:<action>[:<argument>]       a moderation card
    o:<report id>:<status>                    an official's answer on their card
    f:<report id>:yes|no                      the author's "is it really fixed?"
    consent:<commitment id or 0>[:<language>] the privacy notice's "I agree"
    langs:<commitment id or 0>                open the language keyboard
    lang:<language>:<commitment id or 0>      choose a language
    mr:<page>                                 a page of /myreports
    fg:<citizen id>:<action>[:<choice>]        /forget: keep|withdraw, ok:keep|ok:withdraw, no

Handlers are registered with `pattern(prefix)`, so the prefix that builds a button is the prefix
that routes it. Buttons already in chats keep working, so these formats only ever grow. Anyone can
send any callback data on any of the bot's messages (a modified client does), so parsing never
trusts it: `well_formed()` refuses data that is not shaped as the bot writes its prefix, or whose
numbers do not fit the database's INTEGER columns, before any handler runs (handlers/scope.py);
malformed data is None, and a number in it is only a claim the handler must check (the draft's
version, the presser's role). Telegram allows at most 64 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

MAX_BYTES = 64  # Telegram's limit for callback_data
# Report and commitment ids, draft versions and pages: INTEGER columns (storage/models.py), so
# anything larger is forged, and would overflow the database's integer type if it got that far.
MAX_NUMBER = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")  # str.isdigit() would accept "²", which int() refuses
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:_[A-Za-z]{2,4})?")


class Prefix(StrEnum):
    DRAFT = "d"
    CARD = "m"
    ANSWER = "o"
    FIX = "f"
    CONSENT = "consent"
    LANGUAGE_MENU = "langs"
    LANGUAGE = "lang"
    MY_REPORTS_PAGE = "mr"
    FORGET = "fg"


def pattern(*prefixes: Prefix) -> str:
    """The CallbackQueryHandler pattern for buttons of these prefixes (and no others)."""
    if not prefixes:
        raise ValueError("at least one prefix")
    return "^(?:" + "|".join(re.escape(p.value) for p in prefixes) + "):"


def number(text: str) -> int | None:
    """A non-negative number as the bot writes it (ASCII digits, within range), else None."""
    if not _ASCII_NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_NUMBER else None


def _positive(text: str) -> int | None:
    value = number(text)
    return value if value else None


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


# --- "<prefix>:<number>:<action>[:<argument>]" -----------------------------------------------


@dataclass(frozen=True)
class ButtonData:
    key: int
    action: str
    argument: str = ""


B = TypeVar("B", bound=ButtonData)


def encode(prefix: Prefix, key: int, action: str, argument: str | int = "") -> str:
    return _checked(f"{prefix}:{key}:{action}" + (f":{argument}" if argument != "" else ""))


def decode(prefix: Prefix, data: str, kind: type[B]) -> B | None:
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != prefix:
        return None
    key = number(parts[1])
    if key is None:
        return None
    return kind(key, parts[2], parts[3] if len(parts) == 4 else "")


class DraftButton(ButtonData):
    @property
    def version(self) -> int:
        """The draft version the button was drawn for."""
        return self.key


class CardButton(ButtonData):
    @property
    def report_id(self) -> int:
        return self.key


def int_argument(button: ButtonData) -> int | None:
    return number(button.argument)


def draft_button(version: int, action: str, argument: str | int = "") -> str:
    return encode(Prefix.DRAFT, version, action, argument)


def parse_draft_button(data: str) -> DraftButton | None:
    return decode(Prefix.DRAFT, data, DraftButton)


def card_button(report_id: int, action: str, argument: str | int = "") -> str:
    return encode(Prefix.CARD, report_id, action, argument)


def parse_card_button(data: str) -> CardButton | None:
    return decode(Prefix.CARD, data, CardButton)


def answer_button(report_id: int, status: str) -> str:
    return encode(Prefix.ANSWER, report_id, status)


def parse_answer_button(data: str) -> ButtonData | None:
    return decode(Prefix.ANSWER, data, ButtonData)


def fix_button(report_id: int, *, fixed: bool) -> str:
    return encode(Prefix.FIX, report_id, "yes" if fixed else "no")


def parse_fix_button(data: str) -> ButtonData | None:
    return decode(Prefix.FIX, data, ButtonData)


FORGET_CHOICES = ("keep", "withdraw")


def forget_button(citizen_id: int, action: str, choice: str = "") -> str:
    """/forget's buttons, for the citizen they were drawn for (a later registration of the same
    person has another id, so an old message cannot erase it)."""
    return encode(Prefix.FORGET, citizen_id, action, choice)


def parse_forget_button(data: str) -> ButtonData | None:
    return decode(Prefix.FORGET, data, ButtonData)


# --- the privacy notice, the language menu, page turns -----------------------------------------


def consent_data(commitment_id: int | None, language: str | None = None) -> str:
    """The privacy notice's "I agree", keeping a deep-linked commitment and a chosen language."""
    return _checked(f"{Prefix.CONSENT}:{commitment_id or 0}" + (f":{language}" if language else ""))


def parse_consent(data: str) -> tuple[int | None, str | None]:
    """(commitment id, language chosen with /language before agreeing); None where absent."""
    _prefix, _sep, rest = data.partition(":")
    argument, _sep, language = rest.partition(":")
    return _positive(argument), (language or None)


def language_menu_data(commitment_id: int | None = None) -> str:
    """Open the language keyboard (from the privacy notice, keeping its deep-linked commitment)."""
    return _checked(f"{Prefix.LANGUAGE_MENU}:{commitment_id or 0}")


def language_data(language: str, commitment_id: int | None = None) -> str:
    """Choose a language."""
    return _checked(f"{Prefix.LANGUAGE}:{language}:{commitment_id or 0}")


def parse_language(data: str) -> tuple[str | None, int | None]:
    """(language code or None for the menu, commitment id or None) from either payload above."""
    prefix, _sep, rest = data.partition(":")
    if prefix == Prefix.LANGUAGE_MENU:
        return None, _positive(rest)
    language, _sep, argument = rest.partition(":")
    return (language or None), _positive(argument)


def page_data(prefix: Prefix, page: int) -> str:
    return _checked(f"{prefix}:{page}")


def parse_page(data: str) -> int:
    """The page a page-turn button asks for; the first page for anything malformed."""
    return number(data.partition(":")[2]) or 0


# --- the shapes the bot writes, checked before any handler runs ----------------------------------


def _keyed(prefix: Prefix, *, actions: tuple[str, ...] = (), argument: bool = True) -> Shape:
    """ "<prefix>:<positive number>:<action>[:<argument>]"; actions, if given, are all there are."""

    def shape(data: str) -> bool:
        button = decode(prefix, data, ButtonData)
        return (
            button is not None
            and button.key > 0
            and button.action != ""
            and (not actions or button.action in actions)
            and (argument or button.argument == "")
        )

    return shape


def _consent_shape(data: str) -> bool:
    argument, separator, language = data.partition(":")[2].partition(":")
    return number(argument) is not None and (
        not separator or _LANGUAGE_CODE.fullmatch(language) is not None
    )


def _language_shape(data: str) -> bool:
    language, separator, argument = data.partition(":")[2].partition(":")
    return (
        bool(separator)
        and _LANGUAGE_CODE.fullmatch(language) is not None
        and (number(argument) is not None)
    )


def _number_shape(data: str) -> bool:
    return number(data.partition(":")[2]) is not None


Shape = Callable[[str], bool]
_SHAPES: dict[str, Shape] = {
    Prefix.DRAFT: _keyed(Prefix.DRAFT),
    Prefix.CARD: _keyed(Prefix.CARD),
    Prefix.ANSWER: _keyed(Prefix.ANSWER, argument=False),
    Prefix.FIX: _keyed(Prefix.FIX, actions=("yes", "no"), argument=False),
    Prefix.CONSENT: _consent_shape,
    Prefix.LANGUAGE_MENU: _number_shape,
    Prefix.LANGUAGE: _language_shape,
    Prefix.MY_REPORTS_PAGE: _number_shape,
    Prefix.FORGET: _keyed(Prefix.FORGET, actions=(*FORGET_CHOICES, "ok", "no")),
}


def well_formed(data: str | None) -> bool:
    """Whether callback data is shaped as the bot writes its prefix, every number in range.

    False for empty data, data over 64 bytes, an unknown prefix, a number that is not plain ASCII
    digits, zero where an id is expected, or anything beyond MAX_NUMBER.
    """
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return False
    shape = _SHAPES.get(data.partition(":")[0])
    return shape is not None and shape(data)
