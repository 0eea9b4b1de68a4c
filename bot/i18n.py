"""Translations per reader: the locale travels with the update in a context variable.

Each update is processed in its own asyncio task, and tasks copy the context when they start, so a
locale set while handling one citizen's update is never seen by another citizen's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.support import NullTranslations, Translations

from bot.config import PROJECT_ROOT, SUPPORTED_LOCALES

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"

_current_locale: ContextVar[str] = ContextVar("commitment_watch_locale", default="en")


@cache
def translations_for(locale: str, locales_dir: Path = LOCALES_DIR) -> NullTranslations:
    return Translations.load(str(locales_dir), [locale], domain=DOMAIN)


@cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a catalog in locales/ (English is always available)."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(code for code in SUPPORTED_LOCALES if code in found or code == "en")


def negotiate(language_code: str | None, default: str) -> str:
    """Map Telegram's language_code (e.g. "pt-br") onto a locale we have, else the default."""
    if not language_code:
        return default
    preferred = [language_code.replace("-", "_"), language_code.split("-")[0].split("_")[0]]
    found = negotiate_locale(preferred, list(available_locales()), sep="_")
    return found or default


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


def gettext(message: str) -> str:
    return translations_for(_current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(_current_locale.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations_for(_current_locale.get()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated where it is shown)."""
    return message


def language_name(locale: str) -> str:
    """A language named in itself, e.g. "Hausa" -> "Hausa", "uk" -> "українська"."""
    try:
        return Locale.parse(locale).get_display_name(locale) or locale
    except (UnknownLocaleError, ValueError):
        return locale


_ = gettext
