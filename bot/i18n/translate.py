"""Translations per reader: the locale travels with the update in a context variable.

Each update is processed in its own asyncio task, and tasks copy the context when they start, so a
locale set while handling one citizen's update is never seen by another citizen's.

The catalogs live in locales/<lang>/LC_MESSAGES/messages.po (compiled to .mo, both checked in);
`python -m tools.catalogs` extracts, updates, compiles and checks them.

Right-to-left languages (Arabic): references, codes, commands and coordinates are left-to-right
inserts. Inside right-to-left text their characters would be reordered around neighbouring
punctuation ("/status CW-7K3F9Q" can come out as "CW-7K3F9Q status/"), so in a right-to-left
locale the translations returned here keep them in Unicode directional isolates (LRI ... PDI),
and text of unknown direction (a commitment title, the citizen's own words inside a sentence) in
first-strong isolates (FSI ... PDI). In left-to-right locales nothing is added: English output is
exactly the catalog's text. Handlers composing such inserts themselves use `ltr()` / `isolate()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.support import NullTranslations, Translations

from bot.core.settings import PROJECT_ROOT, SUPPORTED_LOCALES

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"

# Unicode directional isolates (UAX #9): left-to-right, first-strong, and their end.
LRI = "\u2066"
FSI = "\u2068"
PDI = "\u2069"

# Each language named in itself, as the /language keyboard shows it.
NATIVE_NAMES = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
    "ar": "العربية",
    "ha": "Hausa",
    "yo": "Yorùbá",
    "sw": "Kiswahili",
    "uk": "Українська",
}

_current_locale: ContextVar[str] = ContextVar("commitment_watch_locale", default="en")


@cache
def translations_for(locale: str, locales_dir: Path = LOCALES_DIR) -> NullTranslations:
    return Translations.load(str(locales_dir), [locale], domain=DOMAIN)


@cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a compiled catalog in locales/ (English is always available)."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return tuple(code for code in SUPPORTED_LOCALES if code in found or code == "en")


def negotiate(language_code: str | None, default: str) -> str:
    """Map Telegram's language_code (e.g. "pt-br") onto a locale we have, else the default."""
    if not language_code:
        return default
    preferred = [language_code.replace("-", "_"), language_code.split("-")[0].split("_")[0]]
    found = negotiate_locale(preferred, list(available_locales()), sep="_")
    return found or default


def accepted_languages(header: str | None) -> list[str]:
    """An HTTP Accept-Language header's tags, most wanted first ("fr-CA,fr;q=0.8,*;q=0.1")."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(weighted)]


def negotiate_preferred(preferred: list[str], default: str) -> str:
    """The first of the reader's languages (e.g. an explicit choice, then the browser's) that we
    have, matching "pt-BR" to "pt"; else the default."""
    for language in preferred:
        found = negotiate(language, "")
        if found:
            return found
    return default


def choose_locale(chosen: str | None, telegram_language: str | None, default: str) -> str:
    """The reader's locale: their own choice (/language), else Telegram's, else the default."""
    available = available_locales()
    if chosen in available:
        return chosen
    return negotiate(telegram_language, default if default in available else "en")


def current_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    _current_locale.set(locale)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render in another reader's language for a while (e.g. a card for a moderator)."""
    token = _current_locale.set(locale)
    try:
        yield
    finally:
        _current_locale.reset(token)


# --- right-to-left ------------------------------------------------------------------------------


@cache
def is_rtl(locale: str) -> bool:
    try:
        return Locale.parse(locale).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def ltr(text: str) -> str:
    """A left-to-right insert (reference, code, command, coordinates) kept in its order when the
    reader's language is right-to-left; unchanged otherwise."""
    return f"{LRI}{text}{PDI}" if is_rtl(_current_locale.get()) else text


def isolate(text: str) -> str:
    """Text of either direction (a title, the citizen's words) kept from reordering its
    neighbours when the reader's language is right-to-left; unchanged otherwise."""
    return f"{FSI}{text}{PDI}" if is_rtl(_current_locale.get()) else text


# A command with its argument (a code or a reference placeholder), a placeholder that holds a
# reference ({reference}, {other}), a code or bounds, or a literal code such as CW-7K3F9Q.
_LTR_INSERT = re.compile(
    r"(?<![\w<])/[a-z][a-z_]*(?: (?:\{(?:reference|code)\}|[A-Z0-9][A-Z0-9-]{2,}))?"
    r"|\{(?:reference|other|code|bounds)\}"
    r"|\b[A-Z]{2,}(?:-[A-Z0-9]+)+\b"
)
# Placeholders of either direction: titles, names and the citizen's own words.
_EITHER_INSERT = re.compile(r"\{(?:title|agency|description|query|typed)\}")


@cache
def _bidi_template(text: str) -> str:
    text = _LTR_INSERT.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", text)
    return _EITHER_INSERT.sub(lambda m: f"{FSI}{m.group(0)}{PDI}", text)


def _shown(locale: str, text: str) -> str:
    return _bidi_template(text) if is_rtl(locale) else text


# --- translating --------------------------------------------------------------------------------


def gettext(message: str) -> str:
    locale = _current_locale.get()
    return _shown(locale, translations_for(locale).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    locale = _current_locale.get()
    return _shown(locale, translations_for(locale).ngettext(singular, plural, n))


def pgettext(context: str, message: str) -> str:
    locale = _current_locale.get()
    return _shown(locale, str(translations_for(locale).pgettext(context, message)))


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated where it is shown)."""
    return message


def language_name(locale: str) -> str:
    """A language named in itself, e.g. "ha" -> "Hausa", "uk" -> "Українська"."""
    if locale in NATIVE_NAMES:
        return NATIVE_NAMES[locale]
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (UnknownLocaleError, ValueError):
        return locale
    return name[:1].upper() + name[1:]


_ = gettext
