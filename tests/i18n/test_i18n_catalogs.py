"""The catalogs: current with the code, complete, safe to format, compiled, and consistent."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import write_po
from i18n_support import tr

from bot.core.settings import SUPPORTED_LOCALES
from bot.i18n.translate import LOCALES_DIR
from tools.catalogs import (
    TEMPLATE,
    catalog_locales,
    compile_problems,
    mo_path,
    po_path,
    read_catalog,
    template_problems,
    translation_problems,
)

TRANSLATED = [locale for locale in SUPPORTED_LOCALES if locale != "en"]

# Buttons shown together on one keyboard: tests (and people) tell them apart by label.
KEYBOARDS = {
    "privacy notice": ("✅ I agree", "🌐 Language"),
    "kind": (
        "⚠️ A problem",
        "🏗 Progress seen",
        "⏸ Not started or stalled",
        "❓ A question",
        "👏 Praise",
    ),
    "location": ("📍 Share my location", "➡️ Continue without location"),
    "commitment": ("📍 Commitments near me", "🗂 Browse by theme"),
    "discard": ("Yes, discard", "No, keep going"),
    "results": ("◀️ Back", "More ▶️", "🗂 Browse by theme"),
    "summary": (
        "✅ Send report",
        "✏️ Commitment",
        "✏️ Kind",
        "✏️ Description",
        "✏️ Location",
        "✏️ Photos",
        "✖️ Cancel",
    ),
    "moderation card": (
        "✅ Approve",
        "🚫 Reject",
        "🔁 Merge",
        "📂 Move",
        "✏️ Redact",
        "❓ Ask the citizen",
    ),
}

# One word for "commitment" and one for "report" in each language (locales/GLOSSARY.md).
GLOSSARY = {
    "commitment": {
        "fr": ("engagement",),
        "es": ("compromiso",),
        "pt": ("compromisso",),
        "ar": ("التزام",),
        "ha": ("alƙawa", "alƙawu"),
        "yo": ("ìlérí",),
        "sw": ("ahadi",),
        "uk": ("зобов’язан",),
    },
    "report": {
        "fr": ("signal",),
        "es": ("report",),
        "pt": ("relat",),
        "ar": ("بلاغ", "إبلاغ", "أبلغ", "تبلّغ"),
        "ha": ("rahot",),
        "yo": ("jábọ̀",),
        "sw": ("ripoti",),
        "uk": ("звернен",),
    },
}


def test_the_template_holds_exactly_what_the_code_marks() -> None:
    assert template_problems() == []


def test_every_supported_language_has_a_catalog() -> None:
    assert set(catalog_locales()) == set(SUPPORTED_LOCALES)
    for locale in SUPPORTED_LOCALES:
        assert mo_path(locale).is_file(), f"{locale}: run python -m tools.catalogs compile"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete_and_safe_to_format(locale: str) -> None:
    assert translation_problems(locale) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_is_what_its_po_compiles_to(locale: str) -> None:
    assert compile_problems(locale) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_forms_are_the_languages_own(locale: str) -> None:
    catalog = read_catalog(po_path(locale), locale)
    assert catalog.num_plurals == get_plural(locale).num_plurals
    assert catalog.plural_expr == get_plural(locale).plural_expr
    expected = {"ar": 6, "uk": 3}.get(locale)
    if expected:
        assert catalog.num_plurals == expected


@pytest.mark.parametrize("locale", TRANSLATED)
def test_labels_on_one_keyboard_differ(locale: str) -> None:
    for keyboard, labels in KEYBOARDS.items():
        translated = [tr(locale, label) for label in labels]
        assert len(set(translated)) == len(translated), f"{locale} {keyboard}: {translated}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_one_word_for_commitment_and_for_report(locale: str) -> None:
    catalog = read_catalog(po_path(locale), locale)
    for term, stems in GLOSSARY.items():
        for message in catalog:
            sources = message.id if isinstance(message.id, tuple) else (message.id,)
            # The bot's name, and the IRM's own reports (not a citizen's), use other words.
            english = re.sub(r"Commitment Watch|\b(IRM|progress) report", "", sources[0])
            if not re.search(rf"\b{term}", english, re.I):
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for text in strings:
                folded = unicodedata.normalize("NFC", text).lower()
                assert any(stem in folded for stem in stems[locale]), (
                    f"{locale}: {text!r} (for {sources[0]!r}) does not use the glossary's "
                    f"{term!r}: {stems[locale]}"
                )


# --- the checks catch what they should ---------------------------------------------------------


def _copy(locale: str, tmp_path: Path) -> Path:
    target = tmp_path / locale / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(po_path(locale), target)
    shutil.copy(mo_path(locale), target)
    return tmp_path


def _edit(locales: Path, locale: str, msgid: str | tuple[str, str], change: object) -> Catalog:
    catalog = read_catalog(po_path(locale, locales), locale)
    message = catalog[msgid]
    assert message is not None
    if callable(change):
        change(message)
    else:
        message.string = change
    with po_path(locale, locales).open("wb") as handle:
        write_po(handle, catalog)
    return catalog


@pytest.mark.parametrize(
    ("msgid", "change", "problem"),
    [
        ("Status: {status}", "Statut : {statut}", "placeholders ['statut'] instead of ['status']"),
        ("Status: {status}", "Statut : {status", "bad braces"),
        ("History", "", "not translated"),
        ("✅ Send report", "Envoyer le signalement", "does not start with '✅'"),
        ("<b>Public text:</b>", "Texte public :", "HTML tags"),
        ("Your report was cancelled; nothing was sent.", None, "copied from English"),
        ("History", lambda m: m.flags.add("fuzzy"), "fuzzy"),
    ],
)
def test_translation_checks_catch_mistakes(
    tmp_path: Path, msgid: str, change: object, problem: str
) -> None:
    locales = _copy("fr", tmp_path)
    _edit(locales, "fr", msgid, msgid if change is None else change)
    problems = translation_problems("fr", locales)
    assert any(problem in found for found in problems), problems


def test_plural_forms_may_spell_out_only_numbers_of_their_own(tmp_path: Path) -> None:
    # Arabic's "one" and "two" forms name the number in words; its 11-99 form may not drop {n}.
    key = ("{n} photo", "{n} photos")
    assert translation_problems("ar") == []
    locales = _copy("ar", tmp_path)
    _edit(locales, "ar", key, lambda m: setattr(m, "string", (*m.string[:5], "صور كثيرة")))
    assert any("(form 5)" in p for p in translation_problems("ar", locales))
    _edit(locales, "ar", key, lambda m: setattr(m, "string", m.string[:5]))
    assert any("a plural form is empty" in p for p in translation_problems("ar", locales))


def test_a_stale_or_broken_compiled_catalog_is_caught(tmp_path: Path) -> None:
    locales = _copy("ha", tmp_path)
    assert compile_problems("ha", locales) == []
    _edit(locales, "ha", "History", "Tarihin rahoto")
    assert any("older than messages.po" in p for p in compile_problems("ha", locales))
    catalog = read_catalog(po_path("ha", locales), "ha")
    with mo_path("ha", locales).open("wb") as handle:
        write_mo(handle, catalog)
    assert compile_problems("ha", locales) == []
    po = po_path("ha", locales)
    po.write_text(po.read_text(encoding="utf-8") + '\nmsgid "unterminated\n', encoding="utf-8")
    assert any("does not compile" in p for p in compile_problems("ha", locales))


def test_a_missing_message_is_caught(tmp_path: Path) -> None:
    locales = _copy("sw", tmp_path)
    catalog = read_catalog(po_path("sw", locales), "sw")
    catalog.delete("History")
    with po_path("sw", locales).open("wb") as handle:
        write_po(handle, catalog)
    assert "sw: missing (run update): 'History'" in translation_problems("sw", locales)


def test_the_template_is_checked_in_next_to_the_catalogs() -> None:
    assert TEMPLATE.parent == LOCALES_DIR and TEMPLATE.is_file()
