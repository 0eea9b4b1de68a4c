"""PRIVACY.md says what the bot says: the privacy notice and the rights commands, in every
language, as the catalogs hold them now."""

from __future__ import annotations

from bot.i18n.translate import NATIVE_NAMES
from tools.privacy_page import PAGE, render


def test_the_privacy_page_is_what_the_catalogs_say() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "run: python -m tools.privacy_page"


def test_every_language_has_its_own_translated_section() -> None:
    page = render()
    sections = page.split('<a id="')[1:]
    assert [section.split('"')[0] for section in sections] == list(NATIVE_NAMES)
    english = sections[0].split("\n", 3)[3]
    for section in sections[1:]:
        body = section.split("\n", 3)[3]
        assert "/mydata" in body and "/forget" in body
        assert "Before you start" not in body and "everything stored about you" not in body
    assert "Before you start: your privacy" in english and "30 days" in english
