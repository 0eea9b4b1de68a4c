"""Choosing the locale, plural forms, right-to-left isolates, and Babel's formatting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from string import Formatter

import pytest
from i18n_support import english_left

from bot.channels.buttons import consent_data, language_data, parse_consent, parse_language
from bot.core.settings import SUPPORTED_LOCALES
from bot.i18n import formatting
from bot.i18n.translate import (
    FSI,
    LRI,
    NATIVE_NAMES,
    PDI,
    available_locales,
    choose_locale,
    current_locale,
    gettext,
    is_rtl,
    isolate,
    language_name,
    ltr,
    negotiate,
    ngettext,
    set_locale,
    use_locale,
)
from tools.catalogs import TEMPLATE, read_catalog

MOMENT = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)  # 16:30 in Lagos


@pytest.mark.parametrize(
    ("telegram", "expected"),
    [
        ("pt-br", "pt"),
        ("pt-BR", "pt"),
        ("ha", "ha"),
        ("ha-NG", "ha"),
        ("yo", "yo"),
        ("sw-KE", "sw"),
        ("uk", "uk"),
        ("ar-EG", "ar"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
        ("en-US", "en"),
        ("ig", "en"),  # Igbo: no catalog yet
        ("zz", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_telegram_language_is_negotiated(telegram: str | None, expected: str) -> None:
    assert negotiate(telegram, "en") == expected


def test_the_citizens_choice_wins_then_telegram_then_the_default() -> None:
    assert choose_locale("yo", "fr", "en") == "yo"
    assert choose_locale(None, "fr", "en") == "fr"
    assert choose_locale(None, "zz", "ha") == "ha"
    assert choose_locale("xx", "uk-UA", "en") == "uk"  # a stored choice we no longer have


def test_every_supported_language_is_available_and_named_in_itself() -> None:
    assert available_locales() == SUPPORTED_LOCALES
    assert set(NATIVE_NAMES) == set(SUPPORTED_LOCALES)
    names = {code: language_name(code) for code in SUPPORTED_LOCALES}
    assert names["ha"] == "Hausa" and names["yo"] == "Yorùbá" and names["sw"] == "Kiswahili"
    assert names["ar"] == "العربية" and names["uk"] == "Українська"
    assert len(set(names.values())) == len(names)
    assert language_name("ig") == "Igbo"  # named by Babel when no catalog exists yet


# Written from each language's grammar: 1, 2, 5 and 21 (and the tricky ones).
PHOTOS = {
    "en": {1: "1 photo", 2: "2 photos", 5: "5 photos", 21: "21 photos"},
    "fr": {0: "0 photo", 1: "1 photo", 2: "2 photos", 5: "5 photos", 21: "21 photos"},
    "es": {1: "1 foto", 2: "2 fotos", 5: "5 fotos", 21: "21 fotos"},
    "pt": {1: "1 foto", 2: "2 fotos", 5: "5 fotos", 21: "21 fotos"},
    "ar": {
        1: "صورة واحدة",
        2: "صورتان",
        5: "5 صور",
        21: "21 صورة",
        3: "3 صور",
        10: "10 صور",
        11: "11 صورة",
        100: "100 صورة",
        103: "103 صور",
    },
    "ha": {1: "hoto 1", 2: "hotuna 2", 5: "hotuna 5", 21: "hotuna 21"},
    "yo": {1: "fọ́tò 1", 2: "fọ́tò 2", 5: "fọ́tò 5", 21: "fọ́tò 21"},
    "sw": {1: "picha 1", 2: "picha 2", 5: "picha 5", 21: "picha 21"},
    "uk": {
        1: "1 фотографія",
        2: "2 фотографії",
        5: "5 фотографій",
        21: "21 фотографія",
        11: "11 фотографій",
        22: "22 фотографії",
        112: "112 фотографій",
    },
}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_forms_for_1_2_5_and_21(locale: str) -> None:
    with use_locale(locale):
        for n, expected in PHOTOS[locale].items():
            assert ngettext("{n} photo", "{n} photos", n).format(n=n) == expected, n


def test_english_output_is_exactly_the_source_text() -> None:
    with use_locale("en"):
        for message in read_catalog(TEMPLATE):
            if isinstance(message.id, tuple):
                singular, plural = message.id
                assert ngettext(singular, plural, 1) == singular
                assert ngettext(singular, plural, 7) == plural
            elif message.id:
                assert gettext(message.id) == message.id
        assert ltr("CW-7K3F9Q") == "CW-7K3F9Q" and isolate("Kawo") == "Kawo"


def test_right_to_left_inserts_are_isolated_only_in_arabic() -> None:
    assert is_rtl("ar") and not any(is_rtl(code) for code in SUPPORTED_LOCALES if code != "ar")
    with use_locale("ar"):
        assert ltr("CW-7K3F9Q") == f"{LRI}CW-7K3F9Q{PDI}"
        assert isolate("Kawo road") == f"{FSI}Kawo road{PDI}"
        assert formatting.format_coordinates(10.5, 7.25) == f"{LRI}10.50000, 7.25000{PDI}"
        sent = gettext("Send the reference after the command, for example: /status CW-7K3F9Q")
        assert sent.endswith(f"{LRI}/status CW-7K3F9Q{PDI}")
    with use_locale("fr"):
        assert formatting.format_coordinates(10.5, 7.25) == "10.50000, 7.25000"


def test_isolates_keep_every_arabic_message_formattable() -> None:
    with use_locale("ar"):
        for message in read_catalog(TEMPLATE):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            texts = (
                [ngettext(ids[0], ids[1], n) for n in (0, 1, 2, 5, 11, 100)]
                if len(ids) == 2
                else [gettext(ids[0])]
            )
            for text in texts:
                names = {f for _l, f, _s, _c in Formatter().parse(text) if f is not None}
                text.format(**dict.fromkeys(names, "x"))  # no KeyError, no stray brace


def test_dates_numbers_and_distances_follow_the_reader() -> None:
    expected = {
        "en": ("Mar 4, 2025, 4:30\u202fPM", "2,000", "1.2 km", "312 m"),
        "fr": ("4 mars 2025, 16:30", "2\u202f000", "1,2\u202fkm", "312\u202fm"),
        "es": ("4 mar 2025, 16:30", "2.000", "1,2 km", "312 m"),
        "uk": ("4 бер. 2025\u202fр., 16:30", "2\u00a0000", "1,2 км", "312 м"),
        "ar": ("4 مارس 2025، 4:30 م", "2,000", "1.2 كم", "312 مترًا"),
        "sw": ("4 Mac 2025 16:30", "2,000", "km 1.2", "mita 312"),
        "yo": ("4 Oṣù Ẹrẹ̀nà 2025 16:30", "2,000", "1.2 km", "312 m"),
    }
    for locale, (moment, number, km, metres) in expected.items():
        with use_locale(locale):
            assert formatting.format_datetime(MOMENT, "Africa/Lagos") == moment, locale
            assert formatting.format_number(2000) == number, locale
            assert formatting.format_distance(1234) == km, locale
            assert formatting.format_distance(312.4) == metres, locale
    with use_locale("en"):
        assert formatting.format_datetime(MOMENT) == "Mar 4, 2025, 3:30\u202fPM"  # UTC by default
        assert formatting.format_datetime(MOMENT, "Asia/Kolkata") == "Mar 4, 2025, 9:00\u202fPM"


async def test_concurrent_readers_keep_their_own_locale() -> None:
    async def reader(locale: str, seen: list[str]) -> None:
        set_locale(locale)
        for _ in range(20):
            await asyncio.sleep(0)
            seen.append(gettext("✅ I agree"))
            assert current_locale() == locale

    hausa: list[str] = []
    arabic: list[str] = []
    await asyncio.gather(reader("ha", hausa), reader("ar", arabic))
    assert set(hausa) == {"✅ Na yarda"} and set(arabic) == {"✅ أوافق"}


def test_language_choice_travels_in_callback_data() -> None:
    assert parse_consent(consent_data(12, "ha")) == (12, "ha")
    assert parse_consent(consent_data(None)) == (None, None)
    assert parse_consent("consent:7") == (7, None)  # buttons drawn before /language existed
    assert parse_language(language_data("uk", 5)) == ("uk", 5)
    assert parse_language("langs:0") == (None, None)
    for code in SUPPORTED_LOCALES:
        assert len(consent_data(2**31, code).encode()) <= 64


def test_the_english_detector_finds_english() -> None:
    assert english_left("Thank you. Let's start your report.")
    assert not english_left("Na gode. Bari mu fara rahotonku.")
