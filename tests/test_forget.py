"""/forget, as a citizen does it: erase me and keep my reports anonymously, or erase me and
withdraw them; cancel; stale and forged presses. Afterwards no table and no column holds the
person's Telegram id (nor their names), the public record is what it was (less the withdrawn
reports), staff, officials and the agency's system never saw who they were, and the bot greets
them as someone new. Also `citizens forget USER_ID [--withdraw]` from the admin command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import MetaData, func, select

from bot.app.cli import main
from bot.channels.buttons import forget_button
from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind, Status
from emulator import BotMessage, SimulatedGroup, SimulatedUser
from handlers import register_handlers
from storage.models import (
    Agency,
    Citizen,
    MediaFile,
    Official,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSupporter,
)
from tests.support.agency_channels import (
    SECRET,
    STAFF_CHAT,
    WebhookReceiver,
    approve,
    configure_agency,
    staff,
    submit,
)
from tests.support.conversation import expect, jpeg_with_gps, reference_in, text_of
from tests.support.flows import describe_another
from tests.support.harness import Harness
from tests.support.public_side import ELSEWHERE, EXACT, Civic, agency_answers

pytestmark = pytest.mark.both_databases

PERSON_ID = 987_654_321
FIRST, LAST, USERNAME = "Oluwaseun", "Adeyemi", "seun_erase_me"
KEEP = "Erase me, keep my published reports anonymously"
WITHDRAW = "Erase me and withdraw my reports"
PENDING_PLACE = (10.5850, 7.4550)
REJECTED_PLACE = (10.5910, 7.4620)


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver(SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def civic(harness: Harness) -> AsyncIterator[Civic]:
    async with aiohttp.ClientSession() as http:
        yield Civic(harness, http)


@dataclass
class Scene:
    person: SimulatedUser
    other: SimulatedUser
    official: SimulatedUser
    moderator: SimulatedUser
    group: SimulatedGroup
    published: str  # the person's, resolved by the agency (an "is it fixed?" is queued)
    pending: str  # the person's, under review, with a moderator's question they answered
    rejected: str  # the person's
    supported: str  # the other citizen's, which the person supports


async def another_report(
    citizen: SimulatedUser, where: tuple[float, float], text: str, *, send: bool = True
) -> str | None:
    """A citizen who already agreed to the privacy notice starts (and sends) another report."""
    await describe_another(citizen, text)
    if not send:
        return None
    await citizen.send_location(*where)
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    return reference_in(await expect(citizen, "Reference:"))


async def support(citizen: SimulatedUser, reference: str, near: tuple[float, float]) -> None:
    await describe_another(citizen, "Water pours onto the road here every day.")
    await citizen.send_location(*near)
    offer = await expect(citizen, "Someone already reported this here", timeout=10)
    await citizen.press_button(f"👍 Add my voice to {reference}", message=offer)
    await expect(citizen, "Your voice was added")


async def report_id(harness: Harness, reference: str) -> int:
    async with harness.db.read() as session:
        found = await session.scalar(select(Report.id).where(Report.reference == reference))
    assert found is not None
    return found


async def make_scene(harness: Harness, receiver: WebhookReceiver) -> Scene:
    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    moderator, group = staff(harness)
    official = harness.user("en", first_name="Halima")
    async with harness.db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
        assert agency is not None
        session.add(Official(agency_id=agency.id, telegram_user_id=official.id, language="en"))
    person = harness.user(
        "en", user_id=PERSON_ID, first_name=FIRST, last_name=LAST, username=USERNAME
    )
    other = harness.user("en", first_name="Musa")
    published = await submit(harness, person, jpeg_with_gps(), where=EXACT)
    supported = await submit(harness, other, where=ELSEWHERE)
    pending = await another_report(person, PENDING_PLACE, "The clinic's roof leaks onto the beds.")
    rejected = await another_report(person, REJECTED_PLACE, "Nothing to see, just testing this.")
    assert pending is not None and rejected is not None
    for reference in (published, supported):
        await approve(moderator, group, reference)
    await expect(person, "was approved and published", timeout=15)
    await expect(official, published, timeout=15)
    ada = Actor(ActorKind.MODERATOR, moderator.id, "Ada")
    await moderation.reject(harness.services, await report_id(harness, rejected), "spam", ada)
    await support(person, supported, (ELSEWHERE[0] + 0.00005, ELSEWHERE[1] + 0.00005))
    await agency_answers(harness, published, "resolved", "The culvert was rebuilt.")
    await expect(person, published, "is now: resolved", timeout=15)
    await moderation.ask(
        harness.services, await report_id(harness, pending), "Which ward is the clinic in?", ada
    )
    question = await expect(person, "A moderator has a question", timeout=15)
    await person.send_text("Tudun Wada, next to the market.", reply_to=question)
    await expect(person, "your answer was added to report")
    await another_report(person, (0, 0), "A report I never finished writing.", send=False)
    await receiver.wait_for(2, timeout=15)  # both approvals reached the agency's system
    await harness.emulator.wait_until_delivered()
    return Scene(person, other, official, moderator, group, published, pending, rejected, supported)


# --- what the database, the public and the staff hold --------------------------------------------


def needles(person: SimulatedUser) -> list[str]:
    account = person.account
    names = (account.first_name, account.last_name, account.username)
    return [str(person.id), *(name for name in names if name)]


async def database_mentions(harness: Harness, person: SimulatedUser) -> list[str]:
    """Every (table, column, value) of the whole database, read as it is stored, where the
    person's Telegram id, first or last name or username shows."""
    found: list[str] = []
    async with harness.db.engine.connect() as connection:
        metadata = MetaData()
        await connection.run_sync(metadata.reflect)
        assert {"citizens", "reports", "outbox", "report_events"} <= set(metadata.tables)
        for table in metadata.sorted_tables:
            for row in (await connection.execute(table.select())).mappings():
                for column, value in row.items():
                    if _mentions(value, person):
                        found.append(f"{table.name}.{column}={value!r:.120}")
    return found


def _mentions(value: Any, person: SimulatedUser) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == person.id
    if isinstance(value, bytes):
        return any(n.encode() in value for n in needles(person))
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(n.lower() in text.lower() for n in needles(person))


def staff_side_mentions(
    harness: Harness, receiver: WebhookReceiver, person: SimulatedUser
) -> list[str]:
    """What the bot sent anywhere but the person's own chat (the staff group, officials, other
    citizens), and every webhook body, that names the person."""
    found = []
    for call in harness.emulator.calls:
        chat = call.params.get("chat_id")
        if chat is not None and str(chat) == str(person.id):
            continue  # their own chat, of course, is theirs
        if call.method == "answerCallbackQuery":
            continue  # answers go to the presser alone
        dumped = json.dumps(call.params, default=str, ensure_ascii=False).lower()
        if any(n.lower() in dumped for n in needles(person)):
            found.append(f"{call.method} {dumped:.200}")
    for request in receiver.requests:
        body = request.body.decode().lower()
        if any(n.lower() in body for n in needles(person)):
            found.append(f"webhook {body:.200}")
    return found


async def public_outputs(civic: Civic) -> dict[str, Any]:
    requests = await civic.get("/open311/v2/requests.json")
    csv = await civic.get("/data/reports.csv")
    assert requests.status == 200 and csv.status == 200
    return {
        "requests": {r["service_request_id"]: r for r in requests.json()},
        "csv": sorted(csv.body.decode().splitlines()),
    }


async def statuses(harness: Harness, *references: str) -> dict[str, str]:
    async with harness.db.read() as session:
        rows = await session.execute(
            select(Report.reference, Report.status).where(Report.reference.in_(references))
        )
        return {reference: status for reference, status in rows.all()}


async def supporters_of(harness: Harness, reference: str) -> int:
    async with harness.db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ReportSupporter)
            .join(Report, Report.id == ReportSupporter.report_id)
            .where(Report.reference == reference)
        )
    return count or 0


async def choose(person: SimulatedUser, label: str) -> tuple[BotMessage, str]:
    """/forget, then one of its choices: the confirmation, and its "Yes" button's data."""
    await person.send_command("forget")
    offer = await expect(person, "Erase your data", "Neither choice can be undone")
    assert offer.buttons == [KEEP, WITHDRAW, "Cancel"]
    await person.press_button(label, message=offer)
    confirm = await expect(person, "Are you sure? This cannot be undone.")
    assert confirm.buttons == ["Yes, erase me", "Cancel"]
    return confirm, confirm.callback_data("Yes, erase me")


# --- the two choices -------------------------------------------------------------------------------


async def test_erase_and_keep_reports_anonymously(
    harness: Harness, receiver: WebhookReceiver, civic: Civic
) -> None:
    scene = await make_scene(harness, receiver)
    person = scene.person
    assert await database_mentions(harness, person)  # the scan does see them while they exist
    assert staff_side_mentions(harness, receiver, person) == []
    before = await public_outputs(civic)
    assert set(before["requests"]) == {scene.published, scene.supported}
    assert await supporters_of(harness, scene.supported) == 1

    confirm, yes = await choose(person, KEEP)
    assert "keep your published reports as anonymous public record" in text_of(confirm)
    await person.press_button("Yes, erase me", message=confirm)
    done = await expect(person, "Done: everything stored about you is erased.")
    assert "3 reports stay, with no name." in text_of(done) and not done.buttons

    assert await database_mentions(harness, person) == []
    assert await public_outputs(civic) == before  # the same public record, to the byte
    assert await supporters_of(harness, scene.supported) == 1  # their "me too" still counts
    assert await statuses(harness, scene.published, scene.pending, scene.rejected) == {
        scene.published: Status.RESOLVED,
        scene.pending: Status.PENDING_REVIEW,
        scene.rejected: Status.REJECTED,
    }
    async with harness.db.read() as session:
        rejected = await session.scalar(select(Report).where(Report.reference == scene.rejected))
        published = await session.scalar(select(Report).where(Report.reference == scene.published))
        queued = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.status == "pending")
        )
        photos = await session.scalar(select(func.count()).select_from(ReportPhoto))
        media = await session.scalar(select(func.count()).select_from(MediaFile))
    assert rejected is not None and rejected.text is None and rejected.latitude is None
    assert published is not None and published.text and published.latitude  # public record
    assert photos == media == 1  # the published report's photo is public record too
    assert "fix_check" not in list(queued)  # nobody to ask "is it fixed?" any more

    # The same button again: nothing left to erase, said politely.
    query = await person.send_callback(yes, message=confirm)
    answer = await person.wait_for_callback_answer(query)
    assert answer.text == "Your data was already erased; there is nothing left."

    # Someone new to the bot: the privacy notice again; agreeing makes a new citizen.
    await person.send_command("start")
    notice = await expect(person, "privacy")
    await person.press_button("✅ I agree", message=notice)
    await expect(person, "commitment")
    query = await person.send_callback(yes, message=confirm)
    answer = await person.wait_for_callback_answer(query)
    assert answer.text == "This button is no longer valid."  # drawn for who they were before
    async with harness.db.read() as session:
        again = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == person.id))
    assert again is not None and again.consent_at is not None
    await harness.emulator.wait_until_delivered()
    assert staff_side_mentions(harness, receiver, person) == []


async def test_erase_and_withdraw_reports(
    harness: Harness, receiver: WebhookReceiver, civic: Civic
) -> None:
    scene = await make_scene(harness, receiver)
    person = scene.person
    before = await public_outputs(civic)
    assert len(receiver.requests) == 2

    confirm, _yes = await choose(person, WITHDRAW)
    assert "withdraw your reports that are not closed yet" in text_of(confirm)
    await person.press_button("Yes, erase me", message=confirm)
    done = await expect(person, "Done: everything stored about you is erased.")
    assert "2 reports were withdrawn." in text_of(done)
    assert "1 report stays, with no name." in text_of(done)  # the rejected one

    assert await statuses(harness, scene.published, scene.pending, scene.rejected) == {
        scene.published: Status.WITHDRAWN,
        scene.pending: Status.WITHDRAWN,
        scene.rejected: Status.REJECTED,
    }
    async with harness.db.read() as session:
        events = (
            await session.scalars(
                select(ReportEvent)
                .join(Report, Report.id == ReportEvent.report_id)
                .where(Report.reference == scene.published, ReportEvent.to_status == "withdrawn")
            )
        ).all()
        withdrawn = await session.scalar(select(Report).where(Report.reference == scene.published))
        photos = await session.scalar(select(func.count()).select_from(ReportPhoto))
        media = await session.scalar(select(func.count()).select_from(MediaFile))
    [event] = events
    assert (event.actor_kind, event.actor_id, event.from_status) == ("citizen", None, "resolved")
    assert withdrawn is not None and withdrawn.text is None and withdrawn.latitude is None
    assert photos == media == 0

    # The moderators' cards show it; the agency's system gets the event (the report it had,
    # not the one still under review), with nothing left of the citizen's words or place.
    for reference in (scene.published, scene.pending):
        card = await expect(scene.group, reference, "withdrawn by the citizen", timeout=15)
        assert "Withdrawn by the citizen, who erased their data" in text_of(card)
        assert not card.buttons
    await receiver.wait_for(3, timeout=15)
    await harness.emulator.wait_until_delivered()
    bodies = [json.loads(r.body) for r in receiver.requests[2:]]
    [hook] = [b for b in bodies if b["event"]["status"] == "withdrawn"]
    assert hook["report"]["reference"] == scene.published
    assert hook["event"]["by"] == "citizen" and hook["event"]["previous_status"] == "resolved"
    assert hook["report"]["text"] is None and hook["report"]["latitude"] is None
    assert not any(b["report"]["reference"] == scene.pending for b in bodies)
    # Nothing for the erased citizen.
    await harness.emulator.wait_until_delivered()
    assert [m.message_id for m in person.messages if "withdrawn" in text_of(m)] == [done.message_id]

    after = await public_outputs(civic)
    assert set(after["requests"]) == {scene.supported}  # the withdrawn report vanished
    assert after["requests"][scene.supported] == before["requests"][scene.supported]
    assert after["csv"] == [line for line in before["csv"] if scene.published not in line]
    assert await database_mentions(harness, person) == []
    assert staff_side_mentions(harness, receiver, person) == []


# --- changing one's mind, stale and forged presses ---------------------------------------------


async def test_cancel_stale_and_forged_presses_erase_nothing(harness: Harness) -> None:
    staff(harness)
    person = harness.user("en", user_id=PERSON_ID, first_name=FIRST, username=USERNAME)
    other = harness.user("en", first_name="Musa")
    reference = await submit(harness, person)
    await submit(harness, other, where=ELSEWHERE)

    await person.send_command("forget")
    offer = await expect(person, "Erase your data")
    await person.press_button("Cancel", message=offer)
    assert text_of(await expect(person, "Nothing was erased.")) == "Nothing was erased."
    confirm, yes = await choose(person, KEEP)
    await person.press_button("Cancel", message=confirm)
    await expect(person, "Nothing was erased.")

    # Another citizen replays the person's button in their own chat: it is not theirs to press.
    query = await other.send_callback(yes)
    answer = await other.wait_for_callback_answer(query)
    assert answer.text == "This button is no longer valid."
    # Forged shapes: "ok" without a choice, a choice the bot never draws, a choice on a step.
    for forged in ("fg:1:ok", "fg:1:ok:everything", "fg:1:keep:withdraw", "fg:1:drop"):
        query = await person.send_callback(forged)
        answer = await person.wait_for_callback_answer(query)
        assert answer.text == "This button is no longer valid.", forged
    async with harness.db.read() as session:
        citizens = await session.scalar(select(func.count()).select_from(Citizen))
        author = await session.scalar(
            select(Citizen.telegram_user_id)
            .join(Report, Report.citizen_id == Citizen.id)
            .where(Report.reference == reference)
        )
    assert (citizens, author) == (2, person.id)

    # Someone the bot knows nothing about.
    stranger = harness.user("en")
    await stranger.send_command("forget")
    await expect(stranger, "Nothing is stored about you, so there is nothing to erase.")
    assert forget_button(1, "ok", "keep") == "fg:1:ok:keep"


# --- the admin command line ---------------------------------------------------------------------


async def test_citizens_forget_from_the_command_line(
    harness: Harness,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    moderator, group = staff(harness)
    person = harness.user("en", user_id=PERSON_ID, first_name=FIRST, username=USERNAME)
    withdrawer = harness.user("en", first_name="Ngozi", username="ngozi_withdraws")
    kept = await submit(harness, person)
    gone = await submit(harness, withdrawer, where=ELSEWHERE)
    for reference in (kept, gone):
        await approve(moderator, group, reference)
    await expect(withdrawer, "was approved and published", timeout=15)
    await receiver.wait_for(2, timeout=15)  # both approvals reached the agency's system

    async def cli(*argv: str) -> tuple[int, str, str]:
        # As an admin runs it, with the bot's configuration: its own event loop and engine.
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv), register_handlers)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    monkeypatch.setenv("MODERATOR_CHAT_ID", str(STAFF_CHAT))

    code, out, _err = await cli("citizens", "forget", str(person.id))
    assert code == 0
    assert out.splitlines()[0] == f"erased citizen {person.id}"
    assert "  reports kept: 1" in out and "  reports withdrawn: 0" in out
    assert (await statuses(harness, kept))[kept] == Status.PUBLISHED

    code, out, _err = await cli("citizens", "forget", str(withdrawer.id), "--withdraw")
    assert code == 0
    assert out.splitlines()[0] == f"erased citizen {withdrawer.id}, reports withdrawn"
    assert "  reports withdrawn: 1" in out
    assert (await statuses(harness, gone))[gone] == Status.WITHDRAWN
    # The running bot delivers what the command queued: the card and the agency's event.
    await expect(group, gone, "withdrawn by the citizen", timeout=15)
    await receiver.wait_for(3, timeout=15)
    hook = json.loads(receiver.requests[2].body)
    assert (hook["event"]["status"], hook["report"]["reference"]) == ("withdrawn", gone)

    code, out, err = await cli("citizens", "forget", str(person.id))
    assert code == 1 and out == ""
    assert err.strip() == (
        f"error: no citizen with Telegram user id {person.id} is stored: nothing to erase"
    )
    code, _out, err = await cli("citizens", "forget", "not-a-number")
    assert code == 2 and "USER_ID must be a positive whole number" in err
    for someone in (person, withdrawer):
        assert await database_mentions(harness, someone) == []


async def test_moderators_after_the_author_erased_their_data(harness: Harness) -> None:
    """A kept report under review: nobody to ask about it any more (said plainly), and merged
    into another report it still counts there, as an anonymous voice."""
    moderator, group = staff(harness)
    person = harness.user("en", user_id=PERSON_ID, first_name=FIRST, username=USERNAME)
    other = harness.user("en", first_name="Musa")
    mine = await submit(harness, person)
    theirs = await submit(harness, other, where=ELSEWHERE)
    card = await expect(group, mine, "waiting for review", timeout=15)
    await person.send_command("forget")
    offer = await expect(person, "Erase your data")
    await person.press_button(KEEP, message=offer)
    confirm = await expect(person, "Are you sure?")
    await person.press_button("Yes, erase me", message=confirm)
    await expect(person, "Done: everything stored about you is erased.")

    await moderator.press_button("❓ Ask the citizen", message=card)
    prompt = await expect(group, "your question for the author")
    await moderator.send_text("Which side of the road?", chat=group, reply_to=prompt)
    refusal = await expect(group, "has erased their data")
    assert text_of(refusal) == (
        f"The author of {mine} has erased their data, so they cannot be asked."
    )

    ada = Actor(ActorKind.MODERATOR, moderator.id, "Ada")
    await moderation.redact(
        harness.services, await report_id(harness, mine), "The culvert is cracked.", ada
    )
    redacted = await expect(group, mine, "Public text", timeout=15)
    assert "✏️ Redact" in redacted.buttons and "❓ Ask the citizen" not in redacted.buttons
    await moderation.merge(harness.services, await report_id(harness, mine), theirs, ada)
    assert await supporters_of(harness, theirs) == 1
    redrawn = await expect(group, mine, "merged with another report", timeout=15)
    assert not redrawn.buttons
    assert await database_mentions(harness, person) == []
