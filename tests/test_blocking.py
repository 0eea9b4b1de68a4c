"""Blocking a sender: moderators from the card, the admin from the command line; the citizen is
refused new reports politely, in their language, while what they already sent goes on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app.cli import main
from bot.catalog.deeplinks import commitment_payload
from bot.citizens import blocking
from bot.i18n.translate import use_locale
from emulator import SimulatedUser
from handlers import register_handlers
from storage.models import Citizen, Draft, Report
from tests.support.conversation import expect, text_of
from tests.support.flows import set_language
from tests.support.harness import Harness
from tests.test_moderation import (
    STAFF_CHAT,
    Staff,
    card_for,
    current_card,
    events_of,
    report_row,
    send_report,
)

pytestmark = pytest.mark.both_databases

REFUSAL = "not accepting new reports"


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


@pytest.fixture
def staff(harness: Harness) -> Staff:
    ada = harness.user("en", first_name="Ada")
    bala = harness.user("en", first_name="Bala")
    outsider = harness.user("en", first_name="Mallory")
    group = harness.emulator.add_group(
        STAFF_CHAT, "Commitment Watch staff", members=[bala], admins=[ada]
    )
    return Staff(group, ada, bala, outsider)


def rendered(locale: str, text: Any, *args: Any) -> str:
    """A text as the bot renders it for a reader of `locale`, tags removed as Telegram shows it."""
    with use_locale(locale):
        return str(text(*args)).replace("<b>", "").replace("</b>", "")


async def citizen_row(harness: Harness, user: SimulatedUser) -> Citizen:
    async with harness.db.read() as session:
        row = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == user.id))
    assert row is not None
    return row


async def report_count(harness: Harness) -> int:
    async with harness.db.read() as session:
        return await session.scalar(select(func.count()).select_from(Report)) or 0


async def answer_to(user: SimulatedUser, data: str, message: Any = None) -> str:
    query_id = await user.send_callback(data, message=message)
    return (await user.wait_for_callback_answer(query_id, timeout=10)).text or ""


def assert_no_identity_in_staff_chat(harness: Harness, *secrets: str) -> None:
    """Everything the bot sent or edited in the staff group: no trace of who the citizen is."""
    payloads = [
        json.dumps(params, ensure_ascii=False, default=str)
        for _method, params, _status in harness.emulator.calls
        if str(params.get("chat_id")) == str(STAFF_CHAT)
    ]
    payloads += [
        json.dumps([m.text, m.html, m.caption, m.reply_markup], ensure_ascii=False, default=str)
        for m in harness.emulator.sent_messages(STAFF_CHAT)
    ]
    assert payloads, "the staff group got messages"
    for secret in secrets:
        assert not any(secret in payload for payload in payloads), secret


async def test_block_from_the_card_refuses_new_reports_and_keeps_the_rest(
    harness: Harness, staff: Staff
) -> None:
    citizen = harness.user("en", first_name="Ngozi", username="ngozi_writes")
    reference = await send_report(citizen, "The market road culvert has collapsed again.")
    card = await card_for(staff, reference)
    assert "🚷 Block sender" in card.buttons
    # A second report started, up to its summary, and not sent yet: the draft must survive.
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    await citizen.send_text("The streetlights on the new road never worked.")
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    summary = await expect(citizen, "Your report")
    await set_language(harness.db, citizen.id, "fr")

    await staff.ada.press_button("🚷 Block sender", message=card)
    menu = await current_card(harness, staff, reference, reference)
    assert menu.buttons == [
        "flooding the moderators",
        "abusive or threatening",
        "spam or advertising",
        "✍️ Another reason: reply with it",
        "◀️ Back",
    ]
    query_id = await staff.ada.press_button("flooding the moderators", message=menu)
    answer = await staff.ada.wait_for_callback_answer(query_id, timeout=10)
    assert (
        answer.text
        == f"🚷 The sender of {reference} is blocked: no new reports are accepted from them."
    )
    updated = await current_card(harness, staff, reference, "Sender blocked by Ada")
    assert "flooding the moderators" in text_of(updated)
    assert "Sender blocked: no new reports are accepted from them." in text_of(updated)
    assert "↩️ Unblock sender" in updated.buttons and "🚷 Block sender" not in updated.buttons
    assert "✅ Approve" in updated.buttons  # the report itself is moderated as before

    report = await report_row(harness, reference)
    event = (await events_of(harness, report.id))[-1]
    assert (event.action, event.actor_kind, event.actor_id, event.actor_name, event.note) == (
        "blocked",
        "moderator",
        staff.ada.id,
        "Ada",
        "flooding",
    )
    assert event.from_status == event.to_status == "pending_review"
    row = await citizen_row(harness, citizen)
    assert row.blocked_at is not None
    assert (row.blocked_reason, row.blocked_by) == ("flooding", staff.ada.id)

    # Told once, in their language, without the reason.
    notice = await expect(citizen, rendered("fr", blocking.notice_text, True)[:40], timeout=15)
    assert text_of(notice) == rendered("fr", blocking.notice_text, True)
    assert "flooding" not in text_of(notice)

    # Every way into a new report is refused politely, in French.
    refusal = rendered("fr", blocking.not_accepted_text)
    assert REFUSAL in rendered("en", blocking.not_accepted_text)
    await citizen.send_command("report")
    assert text_of(await expect(citizen, refusal[:40])) == refusal
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    assert text_of(await expect(citizen, refusal[:40])) == refusal
    await citizen.send_command("project", "KAD-RD-017")
    assert text_of(await expect(citizen, refusal[:40])) == refusal
    await citizen.press_button("✅ Send report", message=summary)
    assert text_of(await expect(citizen, refusal[:40])) == refusal
    assert await report_count(harness) == 1
    async with harness.db.read() as session:
        draft = await session.get(Draft, row.id)
    assert draft is not None and draft.step == "summary", "the draft is kept"

    # Their own /status does not show staff's record of the block.
    await citizen.send_command("status", reference)
    status = await expect(citizen, reference)
    assert "flooding" not in text_of(status) and "Ada" not in text_of(status)

    # The report already made is still moderated, and the citizen hears of it.
    await staff.bala.press_button("✅ Approve", message=updated)
    await expect(citizen, reference, timeout=15)
    approved = await current_card(harness, staff, reference, "Approved by Bala")
    assert "Sender blocked by Ada" in text_of(approved)
    assert (await report_row(harness, reference)).status == "published"

    # Unblocked: told so, and the kept draft can be sent.
    await staff.bala.press_button("↩️ Unblock sender", message=approved)
    restored = await current_card(harness, staff, reference, "Sender unblocked by Bala")
    assert "🚷 Block sender" in restored.buttons
    assert "Sender blocked:" not in text_of(restored)
    back = rendered("fr", blocking.notice_text, False)
    assert text_of(await expect(citizen, back[:30], timeout=15)) == back
    row = await citizen_row(harness, citizen)
    assert (row.blocked_at, row.blocked_reason, row.blocked_by) == (None, None, None)
    assert [e.action for e in await events_of(harness, report.id)][-3:] == [
        "blocked",
        "status",
        "unblocked",
    ]
    await citizen.press_button("✅ Send report", message=summary)
    await expect(citizen, "CW-")
    assert await report_count(harness) == 2

    assert_no_identity_in_staff_chat(harness, str(citizen.id), "Ngozi", "ngozi_writes")


async def test_block_with_a_typed_reason_from_a_rejected_card(
    harness: Harness, staff: Staff
) -> None:
    citizen = harness.user("en", first_name="Tunde", username="tunde_spams")
    reference = await send_report(citizen, "Buy cheap phones at my shop, best prices in town!")
    card = await card_for(staff, reference)
    await staff.ada.press_button("🚫 Reject", message=card)
    reasons = await current_card(harness, staff, reference, reference)
    await staff.ada.press_button("spam", message=reasons)
    rejected = await current_card(harness, staff, reference, "Rejected by Ada")
    # A closed card keeps one action: blocking its sender.
    assert rejected.buttons == ["🚷 Block sender"]
    await staff.ada.press_button("🚷 Block sender", message=rejected)
    menu = await current_card(harness, staff, reference, reference)
    await staff.ada.press_button("✍️ Another reason: reply with it", message=menu)
    prompt = await expect(staff.group, "reply to this message with why the sender")
    assert "Ada" in text_of(prompt) and reference in text_of(prompt)
    # Too long: refused, nothing changes; then a real reason.
    await staff.ada.send_text("x" * 501, chat=staff.group, reply_to=prompt)
    await expect(staff.group, "empty or too long")
    assert (await citizen_row(harness, citizen)).blocked_at is None
    # An outsider's reply to the prompt changes nothing.
    await staff.outsider.send_text("no reason at all", chat=staff.group, reply_to=prompt)
    await staff.ada.send_text(
        "Advertises a phone shop   in every report", chat=staff.group, reply_to=prompt
    )
    done = await expect(staff.group, f"The sender of {reference} is blocked")
    assert done.message_id != prompt.message_id
    updated = await current_card(harness, staff, reference, "Sender blocked by Ada")
    assert "Advertises a phone shop in every report" in text_of(updated)
    assert updated.buttons == ["↩️ Unblock sender"]
    row = await citizen_row(harness, citizen)
    assert row.blocked_reason == "Advertises a phone shop in every report"
    report = await report_row(harness, reference)
    assert report.status == "rejected"
    events = await events_of(harness, report.id)
    assert [e.action for e in events if e.action == "blocked"] == ["blocked"]
    await expect(citizen, "decided not to accept new reports", timeout=15)
    assert_no_identity_in_staff_chat(harness, str(citizen.id), "Tunde", "tunde_spams")


async def test_forged_outsider_and_double_presses_change_nothing(
    harness: Harness, staff: Staff
) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    report = await report_row(harness, reference)
    # Not moderators: someone in a private chat, the citizen themself, an outsider on the card.
    assert (
        await answer_to(staff.outsider, f"m:{report.id}:br:spam") == "Only moderators can do this."
    )
    assert await answer_to(citizen, f"m:{report.id}:br:spam") == "Only moderators can do this."
    assert (
        await answer_to(staff.outsider, card.callback_data("🚷 Block sender"), card)
        == "Only moderators can do this."
    )
    # A moderator with forged data on the card: a report that does not exist, a reason the bot
    # never drew.
    missing = report.id + 1000
    assert (
        await answer_to(staff.ada, f"m:{missing}:br:spam", card) == "This report no longer exists."
    )
    assert await answer_to(staff.ada, f"m:{missing}:bl", card) == "This report no longer exists."
    assert await answer_to(staff.ada, f"m:{missing}:ub", card) == "This report no longer exists."
    assert (
        await answer_to(staff.ada, f"m:{report.id}:br:anything", card)
        == "This button is no longer valid."
    )
    assert await answer_to(staff.ada, f"m:{report.id}:ub", card) == (
        f"The sender of {reference} is not blocked."
    )
    assert (await citizen_row(harness, citizen)).blocked_at is None
    assert [e.action for e in await events_of(harness, report.id)] == ["created"]
    # Two moderators press at once: one blocks, the other is told it is done already.
    answers = await asyncio.gather(
        answer_to(staff.ada, f"m:{report.id}:br:spam", card),
        answer_to(staff.bala, f"m:{report.id}:br:abusive", card),
    )
    assert sum("is blocked" in a for a in answers) == 1, answers
    assert sum(a == f"The sender of {reference} is already blocked." for a in answers) == 1
    assert [e.action for e in await events_of(harness, report.id)] == ["created", "blocked"]
    # Unblock pressed twice.
    first = await answer_to(staff.ada, f"m:{report.id}:ub", card)
    second = await answer_to(staff.ada, f"m:{report.id}:ub", card)
    assert first == f"↩️ The sender of {reference} can send new reports again."
    assert second == f"The sender of {reference} is not blocked."
    assert [e.action for e in await events_of(harness, report.id)] == [
        "created",
        "blocked",
        "unblocked",
    ]
    assert (await citizen_row(harness, citizen)).blocked_at is None


async def test_admin_command_line_block_unblock_list(
    harness: Harness,
    staff: Staff,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    async def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        # The admin command line, as an admin runs it: its own event loop, its own engine.
        try:
            code = await asyncio.to_thread(main, list(argv), register_handlers)
        except SystemExit as exit:  # argparse: a missing option
            code = exit.code if isinstance(exit.code, int) else 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    monkeypatch.setenv("MODERATOR_CHAT_ID", str(STAFF_CHAT))
    citizen = harness.user("en", first_name="Halima", username="halima_h")
    reference = await send_report(citizen)
    await card_for(staff, reference)
    row = await citizen_row(harness, citizen)

    code, out, err = await cli("citizens", "list", "--blocked")
    assert (code, out.strip(), err) == (0, "no citizen is blocked", "")
    code, out, err = await cli(
        "citizens", "block", str(citizen.id), "--reason", "asked by the data protection officer"
    )
    assert code == 0, err
    assert out.strip() == f"blocked {citizen.id}: asked by the data protection officer"
    code, out, _err = await cli("citizens", "block", str(citizen.id), "--reason", "again")
    assert (code, out.strip()) == (0, f"{citizen.id} was already blocked; nothing changed")
    code, out, _err = await cli("citizens", "list", "--blocked")
    assert code == 0
    [heading, line, count] = out.strip().splitlines()
    assert heading.split()[:3] == ["id", "telegram", "id"]
    assert line.split()[:2] == [str(row.id), str(citizen.id)]
    assert "admin" in line and line.endswith("asked by the data protection officer")
    assert count == "1 blocked citizen"

    # The citizen is told, their card says so, and their next report is refused.
    await expect(citizen, "decided not to accept new reports", timeout=15)
    card = await current_card(harness, staff, reference, "Sender blocked:")
    assert "↩️ Unblock sender" in card.buttons
    await citizen.send_command("report")
    await expect(citizen, REFUSAL)

    code, out, _err = await cli("citizens", "unblock", str(citizen.id))
    assert (code, out.strip()) == (0, f"unblocked {citizen.id}: new reports are accepted again")
    await expect(citizen, "accepts new reports from you again", timeout=15)
    card = await current_card(harness, staff, reference, reference)
    assert "🚷 Block sender" in card.buttons and "Sender blocked" not in text_of(card)
    code, _out, err = await cli("citizens", "unblock", str(citizen.id))
    assert code == 1 and err.strip() == f"error: {citizen.id} is not blocked; nothing changed"
    await citizen.send_command("report")
    await expect(citizen, "Which commitment")

    # Unknown ids and bad values: one clear line, nothing changed.
    for argv in (
        ("citizens", "block", "424242", "--reason", "spam"),
        ("citizens", "unblock", "424242"),
    ):
        code, out, err = await cli(*argv)
        assert code == 1 and out == "", err
        assert err.strip() == (
            "error: no citizen with Telegram user id 424242 has used the bot; nothing changed"
        )
    code, _out, err = await cli("citizens", "block", "not-a-number", "--reason", "spam")
    assert code == 2 and err.startswith("error: USER_ID must be a positive whole number")
    code, _out, err = await cli("citizens", "block", str(citizen.id), "--reason", "   ")
    assert code == 2 and "--reason must be some text" in err
    code, _out, err = await cli("citizens", "block", str(citizen.id))
    assert code == 2 and "--reason" in err
    assert (await citizen_row(harness, citizen)).blocked_at is None
    assert_no_identity_in_staff_chat(harness, str(citizen.id), "Halima", "halima_h")
