"""The report flow in Hausa, Arabic and Ukrainian through the emulator: every reply in the
citizen's language, plural forms right, the language chosen per user, and any script intact."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from i18n_support import add_reports, english_left, fragment, message_texts, plain, tr, trn
from sqlalchemy import select

from bot.catalog.deeplinks import commitment_payload
from bot.i18n.translate import LRI, NATIVE_NAMES, PDI
from bot.reports.drafting import MAX_PHOTOS, MAX_TEXT
from emulator import SimulatedUser
from storage.models import Citizen, Report
from tests.support.catalog import KADUNA_CATALOG
from tests.support.conversation import expect, png_image, reference_in, text_of
from tests.support.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
# A copy of ../shared/data/text/udhr_samples.json, so that the test runs in any checkout.
UDHR_SAMPLES = ROOT / "tests" / "data" / "text" / "udhr_samples.json"

PRIVACY = "<b>Before you start: your privacy</b>"
KIND_PROMPT = "<b>{title}</b>\n\nWhat kind of feedback is it?"
DESCRIBE = (
    "Describe what you see, in your own words ({min} to {max} character). "
    "You can also send a voice note instead.",
    "Describe what you see, in your own words ({min} to {max} characters). "
    "You can also send a voice note instead.",
    MAX_TEXT,
)
WHERE = (
    "Where is it? Press «{share}» (or send a place from the map). If you are not there now, "
    "press «{skip}»."
)
COMMITMENT_PROMPT = (  # as asked where the catalog has themes
    "Which commitment is your report about?\n\n"
    "• Type a few words or the code from the signboard to search\n"
    "• Or press «{nearby}» to see commitments near you\n"
    "• Or browse them by theme"
)
ADD_PHOTOS = (
    "Add a photo if you have one: up to {n}. Send it now, or skip.",
    "Add photos if you have them: up to {n}. Send them now, or skip.",
    MAX_PHOTOS,
)
PHOTOS_ADDED = (
    "{count} photo added (at most {n}). Send more, or press Done.",
    "{count} photos added (at most {n}). Send more, or press Done.",
)
PHOTOS_FULL = (
    "{count} photo added: that is as many as a report can hold. Press «{done}» to continue.",
    "{count} photos added: that is as many as a report can hold. Press «{done}» to continue.",
)
SUMMARY = (
    "<b>Your report</b>\n\n"
    "<b>Commitment:</b> {code} {title}\n"
    "<b>Kind:</b> {kind}\n"
    "<b>Description:</b> {description}\n"
    "<b>Location:</b> {where}\n"
    "<b>Photos:</b> {photos}\n\n"
    "Send it now?"
)
RECEIVED = (
    "✅ Thank you! Your report was received.\n\n"
    "Reference: <code>{reference}</code>\n\n"
    "Moderators will review it, and I will tell you every time its status "
    "changes. See it any time with /status {reference}."
)
SENT_N = ("You have sent {n} report:", "You have sent {n} reports:")
KIND_LABELS = ("⚠️ A problem", "🏗 Progress seen", "⏸ Not started or stalled", "❓ A question")
KIND_LABELS += ("👏 Praise",)
SUMMARY_LABELS = ("✅ Send report", "✏️ Commitment", "✏️ Kind", "✏️ Description", "✏️ Location")
SUMMARY_LABELS += ("✏️ Photos", "✖️ Cancel")
N_PHOTOS = ("{n} photo", "{n} photos")
FOUND_N = ("I found {n} commitment. Choose one:", "I found {n} commitments. Choose one:")

# What a citizen types, in their own language.
OWN_WORDS = {
    "ha": "Akwai manyan ramuka a titin kusa da gadar Kawo, kuma magudanar ruwa ta toshe.",
    "ar": "توجد حفر عميقة في الطريق قرب جسر كاوو، وقناة التصريف مسدودة.",
    "uk": "Глибокі ями на дорозі біля мосту Каво, а водостік забитий.",
}
ROAD = next(item for item in KADUNA_CATALOG if item.code == "KAD-RD-017")
TITLES = {"ha": ROAD.title_ha or "", "ar": ROAD.title_en, "uk": ROAD.title_en}

# Written by hand from each language's grammar, not from the catalogs' plural rules.
PHOTOS_ADDED_START = {
    "ha": {1: "An ƙara hoto 1 ", 2: "An ƙara hotuna 2 ", 3: "An ƙara hotuna 3 "},
    "ar": {1: "أُضيفت صورة واحدة ", 2: "أُضيفت صورتان ", 3: "أُضيفت 3 صور "},
    "uk": {1: "Додано 1 фотографію ", 2: "Додано 2 фотографії ", 3: "Додано 3 фотографії "},
}
FIVE_PHOTOS = {"ha": "hotuna 5", "ar": "5 صور", "uk": "5 фотографій"}
REPORTS_SENT = {
    "ha": {
        1: "Kun aika rahoto 1:",
        2: "Kun aika rahotanni 2:",
        5: "Kun aika rahotanni 5:",
        21: "Kun aika rahotanni 21:",
    },
    "ar": {
        1: "لديك بلاغ واحد مرسل:",
        2: "لديك بلاغان مرسلان:",
        5: "لديك 5 بلاغات مرسلة:",
        21: "لديك 21 بلاغًا مرسلًا:",
    },
    "uk": {
        1: "Ви надіслали 1 звернення:",
        2: "Ви надіслали 2 звернення:",
        5: "Ви надіслали 5 звернень:",
        21: "Ви надіслали 21 звернення:",
    },
}


def assert_no_english(citizen: SimulatedUser, harness: Harness, *allowed: str) -> None:
    messages = harness.emulator.sent_messages(citizen.id)
    assert messages
    for message in messages:
        for text in message_texts(message):
            left = english_left(text, (*allowed, "English"))
            assert not left, f"English left in {text!r}: {left}"


async def consent(citizen: SimulatedUser, locale: str) -> None:
    notice = await expect(citizen, fragment(locale, PRIVACY))
    assert notice.buttons == [tr(locale, "✅ I agree"), tr(locale, "🌐 Language")]
    await citizen.press_button(tr(locale, "✅ I agree"), message=notice)


@pytest.mark.both_databases
@pytest.mark.parametrize("locale", ["ha", "ar", "uk"])
async def test_report_flow_speaks_the_citizens_language(
    harness: Harness, catalog_ids: dict[str, int], locale: str
) -> None:
    citizen = harness.user(locale)
    words = OWN_WORDS[locale]
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await consent(citizen, locale)

    kind = await expect(citizen, fragment(locale, KIND_PROMPT))
    assert TITLES[locale] in text_of(kind)  # Hausa has its own title; the others fall back
    assert set(kind.buttons) == {tr(locale, label) for label in KIND_LABELS}
    await citizen.press_button(tr(locale, "⚠️ A problem"))
    await expect(citizen, fragment(locale, DESCRIBE))
    await citizen.send_text(words)
    where = await expect(citizen, fragment(locale, WHERE))
    assert where.reply_keyboard == [
        tr(locale, "📍 Share my location"),
        tr(locale, "➡️ Continue without location"),
    ]
    await citizen.send_location(10.5731, 7.4412)
    await expect(citizen, tr(locale, "📍 Location saved."))
    await expect(citizen, fragment(locale, ADD_PHOTOS))

    for count in range(1, 6):
        await citizen.send_photo(png_image((40 * count, 90, 200 - 30 * count)))
        if count < MAX_PHOTOS:
            said = trn(locale, *PHOTOS_ADDED, count, count=count, n=MAX_PHOTOS)
        else:  # the last one says the report is full and what to press next
            done = tr(locale, "✅ Done with photos")
            said = trn(locale, *PHOTOS_FULL, count, count=count, done=done)
        added = await expect(citizen, plain(said))
        if count in PHOTOS_ADDED_START[locale]:
            assert text_of(added).startswith(PHOTOS_ADDED_START[locale][count])
    await citizen.press_button(tr(locale, "✅ Done with photos"))

    summary = await expect(citizen, fragment(locale, SUMMARY))
    assert words in text_of(summary)
    assert FIVE_PHOTOS[locale] in text_of(summary)
    assert set(summary.buttons) == {tr(locale, label) for label in SUMMARY_LABELS}
    await citizen.press_button(tr(locale, "✅ Send report"))
    received = await expect(citizen, fragment(locale, RECEIVED))
    reference = reference_in(received)

    await citizen.send_command("status", reference)
    status = await expect(citizen, reference, words)
    waiting = tr(locale, "received, waiting for review")
    assert plain(tr(locale, "Status: {status}", status=waiting)) in text_of(status)
    assert plain(trn(locale, *N_PHOTOS, 5, n=5)) in text_of(status)

    # Plural forms for 1, 2, 5 and 21 reports, in the /myreports heading.
    sent = 1
    for total in (1, 2, 5, 21):
        await add_reports(harness.db, citizen.id, catalog_ids["KAD-HC-004"], total - sent)
        sent = total
        await citizen.send_command("myreports")
        heading = REPORTS_SENT[locale][total]
        listing = await expect(citizen, heading)
        assert text_of(listing).split("\n")[0] == heading

    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None and report.language == locale and report.text == words
    health_title = next(item.title_en for item in KADUNA_CATALOG if item.code == "KAD-HC-004")
    assert_no_english(citizen, harness, words, TITLES[locale], ROAD.title_en, health_title)


async def test_arabic_keeps_references_and_commands_in_order(harness: Harness) -> None:
    """Left-to-right inserts in right-to-left text sit in directional isolates."""
    citizen = harness.user("ar")
    await citizen.send_command("start", commitment_payload("KAD-SC-021"))
    await consent(citizen, "ar")
    await expect(citizen, fragment("ar", KIND_PROMPT))
    await citizen.press_button(tr("ar", "❓ A question"))
    await expect(citizen, fragment("ar", DESCRIBE))
    await citizen.send_text("متى سيكتمل بناء الفصول الدراسية؟")
    await expect(citizen, fragment("ar", WHERE))
    await citizen.press_reply_button(tr("ar", "➡️ Continue without location"))
    await expect(citizen, fragment("ar", ADD_PHOTOS))
    await citizen.press_button(tr("ar", "➡️ Skip photos"))
    summary = await expect(citizen, fragment("ar", SUMMARY))
    assert f"{LRI}KAD-SC-021{PDI}" in text_of(summary)
    await citizen.press_button(tr("ar", "✅ Send report"))
    received = await expect(citizen, fragment("ar", RECEIVED))
    reference = reference_in(received)
    assert f"{LRI}{reference}{PDI}" in text_of(received)
    assert f"{LRI}/status {reference}{PDI}" in text_of(received)


async def test_two_languages_interleaved_never_mix(harness: Harness) -> None:
    """A Hausa and a Ukrainian citizen report at the same time; each reads only their own."""
    hausa, ukrainian = harness.user("ha"), harness.user("uk")

    async def report(citizen: SimulatedUser, locale: str, code: str) -> str:
        await citizen.send_command("start", commitment_payload(code))
        await consent(citizen, locale)
        await expect(citizen, fragment(locale, KIND_PROMPT))
        await citizen.press_button(tr(locale, "🏗 Progress seen"))
        await expect(citizen, fragment(locale, DESCRIBE))
        await citizen.send_text(OWN_WORDS[locale])
        await expect(citizen, fragment(locale, WHERE))
        await citizen.press_reply_button(tr(locale, "➡️ Continue without location"))
        await expect(citizen, fragment(locale, ADD_PHOTOS))
        await citizen.send_photo(png_image())
        await expect(citizen, plain(trn(locale, *PHOTOS_ADDED, 1, count=1, n=5)))
        await citizen.press_button(tr(locale, "✅ Done with photos"))
        await expect(citizen, fragment(locale, SUMMARY))
        await citizen.press_button(tr(locale, "✅ Send report"))
        return reference_in(await expect(citizen, fragment(locale, RECEIVED)))

    await asyncio.gather(report(hausa, "ha", "KAD-RD-017"), report(ukrainian, "uk", "KAD-WS-009"))
    for citizen, own, other in ((hausa, "ha", "uk"), (ukrainian, "uk", "ha")):
        messages = harness.emulator.sent_messages(citizen.id)
        texts = [text for message in messages for text in message_texts(message)]
        assert all(not english_left(text, (OWN_WORDS[own], *TITLES.values())) for text in texts)
        foreign = [plain(tr(other, msgid)) for msgid in ("✅ I agree", "✅ Send report")]
        foreign.append(fragment(other, RECEIVED))
        assert not any(f in text for text in texts for f in foreign)
        assert any(fragment(own, RECEIVED) in text for text in texts)


# --- /language ------------------------------------------------------------------------------


async def citizen_row(harness: Harness, telegram_user_id: int) -> Citizen | None:
    async with harness.db.read() as session:
        return await session.scalar(
            select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
        )


async def test_language_chosen_before_consent_is_stored_only_on_agreeing(
    harness: Harness,
) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    notice = await expect(citizen, "privacy")
    await citizen.press_button("🌐 Language", message=notice)
    picker = await expect(
        citizen, fragment("en", "🌐 Choose the language I should write to you in:")
    )
    assert picker.buttons == list(NATIVE_NAMES.values())
    await citizen.press_button("Hausa", message=picker)
    hausa_notice = await expect(citizen, fragment("ha", PRIVACY))
    assert await citizen_row(harness, citizen.id) is None  # nothing stored before agreeing
    await citizen.press_button(tr("ha", "✅ I agree"), message=hausa_notice)
    kind = await expect(citizen, fragment("ha", KIND_PROMPT))  # the deep link's commitment kept
    assert TITLES["ha"] in text_of(kind)
    row = await citizen_row(harness, citizen.id)
    assert row is not None and row.language == "ha" and row.consent_at is not None
    # Telegram still says English; the stored choice wins from now on.
    await citizen.send_command("help")
    await expect(citizen, tr("ha", "/language: choose your language"))
    menu = harness.emulator.commands(scope={"type": "chat", "chat_id": citizen.id})
    assert {c["command"]: c["description"] for c in menu}["language"] == tr(
        "ha", "Choose your language"
    )


async def test_language_command_switches_a_report_in_progress(harness: Harness) -> None:
    citizen = harness.user("pt-BR")
    await citizen.send_command("start", commitment_payload("KAD-HC-004"))
    await consent(citizen, "pt")  # pt-BR negotiated to pt
    await expect(citizen, fragment("pt", KIND_PROMPT))
    await citizen.press_button(tr("pt", "⚠️ A problem"))
    await expect(citizen, fragment("pt", DESCRIBE))
    await citizen.send_command("language")
    picker = await expect(
        citizen, fragment("pt", "🌐 Choose the language I should write to you in:")
    )
    await citizen.press_button("Français", message=picker)
    await expect(
        citizen,
        plain(tr("fr", "From now on I will write to you in {language}.", language="Français")),
    )
    await expect(citizen, fragment("fr", DESCRIBE))  # the step again, in French
    row = await citizen_row(harness, citizen.id)
    assert row is not None and row.language == "fr"
    await citizen.send_text("Le toit du centre de santé fuit quand il pleut.")
    where = await expect(citizen, fragment("fr", WHERE))
    assert tr("fr", "➡️ Continue without location") in where.reply_keyboard


async def test_unknown_telegram_language_falls_back_to_the_default(harness: Harness) -> None:
    citizen = harness.user("zz")
    await citizen.send_command("start")
    await expect(citizen, "Welcome to Commitment Watch", "privacy")


async def test_command_menu_in_every_language(harness: Harness) -> None:
    emulator = harness.emulator
    for locale in NATIVE_NAMES:
        menu = {c["command"]: c["description"] for c in emulator.commands(language_code=locale)}
        assert set(menu) == {
            "report",
            "myreports",
            "status",
            "cancel",
            "help",
            "language",
            "mydata",
            "forget",
        }
        assert menu["report"] == tr(locale, "Report on a public commitment")
        assert menu["language"] == tr(locale, "Choose your language")
    hausa = {c["command"]: c["description"] for c in emulator.commands(language_code="ha")}
    assert hausa["report"] == "Kai rahoto kan alƙawarin gwamnati"
    default = {c["command"]: c["description"] for c in emulator.commands(language_code="zz")}
    assert default["report"] == "Report on a public commitment"


# --- any script, intact --------------------------------------------------------------------


def udhr_samples() -> dict[str, list[str]]:
    return json.loads(UDHR_SAMPLES.read_text(encoding="utf-8"))


@pytest.mark.both_databases
async def test_udhr_text_in_eleven_scripts_goes_through_intact(harness: Harness) -> None:
    samples = udhr_samples()
    assert len(samples) >= 11

    async def round_trip(language: str, text: str) -> tuple[str, str, str]:
        # Each writer's Telegram speaks their language; Igbo and Amharic fall back to English.
        citizen = harness.user(language)
        locale = language if language in NATIVE_NAMES else "en"
        await citizen.send_command("start", commitment_payload("NG-FT-001"))
        await consent(citizen, locale)
        await expect(citizen, fragment(locale, KIND_PROMPT))
        await citizen.press_button(tr(locale, "❓ A question"))
        await expect(citizen, fragment(locale, DESCRIBE))
        await citizen.send_text(text)
        await expect(citizen, fragment(locale, WHERE))
        await citizen.press_reply_button(tr(locale, "➡️ Continue without location"))
        await expect(citizen, fragment(locale, ADD_PHOTOS))
        await citizen.press_button(tr(locale, "➡️ Skip photos"))
        summary = await expect(citizen, fragment(locale, SUMMARY))
        assert text in text_of(summary)
        await citizen.press_button(tr(locale, "✅ Send report"))
        reference = reference_in(await expect(citizen, fragment(locale, RECEIVED)))
        await citizen.send_command("status", reference)
        status = await expect(citizen, reference)
        return reference, text_of(status), text

    # Every paragraph of each language in one report: several lines, every script's marks.
    chosen = [(language, "\n\n".join(paragraphs)) for language, paragraphs in samples.items()]
    results = await asyncio.gather(*(round_trip(language, text) for language, text in chosen))
    async with harness.db.read() as session:
        for reference, status_text, text in results:
            assert text in status_text, "/status shows the text exactly"
            stored = await session.scalar(select(Report.text).where(Report.reference == reference))
            assert stored == text, "the database holds the text exactly"


async def test_search_matches_every_language_and_shows_the_readers_title(
    harness: Harness,
) -> None:
    hausa = harness.user("ha")
    await hausa.send_command("report")
    await consent(hausa, "ha")
    await expect(hausa, fragment("ha", COMMITMENT_PROMPT))
    await hausa.send_text("Rigasa road")  # English words find the road...
    found = await expect(hausa, "KAD-RD-017")
    assert TITLES["ha"] in text_of(found)  # ...shown with its Hausa title
    assert plain(trn("ha", *FOUND_N, 1, n=1)) in text_of(found)

    ukrainian = harness.user("uk")
    await ukrainian.send_command("report")
    await consent(ukrainian, "uk")
    await expect(ukrainian, fragment("uk", COMMITMENT_PROMPT))
    await ukrainian.send_text("centre de santé")  # the French title finds the clinic...
    found = await expect(ukrainian, "KAD-HC-004")
    assert "Primary health centre, Ungwan Rimi" in text_of(found)  # ...in the default language
