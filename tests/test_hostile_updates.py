"""Hostile updates: chats the bot does not serve, buttons pressed on the wrong message, and
forged callback data. The bot speaks in private chats and in the staff group only; every press is
answered; nothing out of place changes the database or logs an error."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from bot.catalog.deeplinks import commitment_payload
from emulator import BotApiEmulator, BotMessage, SimulatedGroup, SimulatedUser
from emulator.state import CallbackQueryState, Chat
from storage.db import Database
from storage.models import Base, Citizen, Draft, Report
from tests.support.conversation import expect
from tests.support.flows import send_plain_report
from tests.support.harness import Harness

STAFF_CHAT = -1001000000777
STRANGERS = -1001000000999  # a group somebody added the bot to
CHANNEL = -1001000000555  # a channel the bot was made an admin of
# Bot API methods that put something into a chat (or take the bot out of one).
SPEAKING = ("send", "edit", "delete", "copy", "forward", "pin", "unpin", "leaveChat")
NOT_HERE = "This button does not work here."
NO_LONGER_VALID = "This button is no longer valid."

# Forged callback data: out-of-range numbers (the database's integers are 32-bit), garbage,
# and 64 bytes of it.
GARBAGE = [
    "consent:99999999999999999999",
    "m:9999999999999999999:rj",
    "o:18446744073709551616:resolved",
    "f:18446744073709551616:no",
    "d:2147483648:k:problem",
    "mr:99999999999",
    "langs:9999999999",
    "lang:fr:2147483648",
    "",
    ":",
    "consent",
    "consent:abc",
    "consent:-1",
    "consent:0:<b>x</b>",
    "d:-1:k:problem",
    "d:0:k:problem",
    "d:١٢:k:problem",
    "m:²:ok",
    "m:1e3:ok",
    "m: 1:ok",
    "m:1:",
    "o:1",
    "o:1:resolved:extra",
    "f:1:maybe",
    "mr:-5",
    "mr:x",
    "mr:",
    "langs:",
    "lang::0",
    "lang:fr:x",
    "lang:../../etc:0",
    "zz:1:ok",
    "🙂" * 16,
    "é" * 32,
    "x" * 64,
    "consent:" + "9" * 56,
]


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    # Each person here sends every kind of hostile update, far more than the flood limit lets
    # through in a minute: this module checks what each one gets, tests/test_limits.py the rate.
    return {"moderator_chat_id": STAFF_CHAT, "flood_messages_per_minute": 10_000}


@dataclass
class World:
    citizen: SimulatedUser  # has sent a report and has a second one in progress
    moderator: SimulatedUser
    mallory: SimulatedUser  # an outsider, in the strangers' group
    staff: SimulatedGroup
    strangers: SimulatedGroup
    channel: Chat
    card: BotMessage
    report_id: int
    commitment_id: int
    version: int  # of the citizen's draft in progress

    @property
    def people(self) -> list[SimulatedUser]:
        return [self.citizen, self.moderator, self.mallory]

    def well_formed_presses(self) -> list[str]:
        """One press of every kind of button, with real ids."""
        report, version = self.report_id, self.version
        return [
            "consent:0",
            f"consent:{self.commitment_id}:fr",
            "langs:0",
            "lang:fr:0",
            "mr:0",
            "mr:1",
            f"d:{version}:k:problem",
            f"d:{version}:x",
            f"d:{version}:ok",
            f"m:{report}:ok",
            f"m:{report}:rj",
            f"m:{report}:rr:spam",
            f"o:{report}:resolved",
            f"f:{report}:no",
        ]


async def build_world(harness: Harness) -> World:
    moderator = harness.user("en", first_name="Ada")
    staff = harness.emulator.add_group(STAFF_CHAT, "Commitment Watch staff", admins=[moderator])
    citizen, mallory = harness.user("en"), harness.user("en", first_name="Mallory")
    strangers = harness.emulator.add_group(STRANGERS, "Not ours", members=[citizen, mallory])
    channel = Chat(id=CHANNEL, type="channel", title="Somebody's channel")
    harness.emulator.state.chats[CHANNEL] = channel
    reference = await send_plain_report(citizen)
    card = await expect(staff, reference, "waiting for review", timeout=15)
    # A second report, in progress, at its description.
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await citizen.press_button("⚠️ A problem", message=await expect(citizen, "What kind"))
    await expect(citizen, "Describe what you see")
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        draft = await session.scalar(
            select(Draft).join(Citizen).where(Citizen.telegram_user_id == citizen.id)
        )
        assert draft is not None
    return World(
        citizen,
        moderator,
        mallory,
        staff,
        strangers,
        channel,
        card,
        report.id,
        report.commitment_id,
        draft.version,
    )


async def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table but the inbox, where each update is recorded as it arrives
    (tests/test_inbox.py checks it): what the updates changed."""
    async with db.read() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in (await session.execute(select(table))))
            for table in Base.metadata.sorted_tables
            if table.name != "inbox"
        }


def bot_post(emulator: BotApiEmulator, chat: Chat, data: list[str]) -> dict[str, Any]:
    """A message with inline buttons, as the bot would have posted it in that chat."""
    bot = emulator.state.bot(None)
    message: dict[str, Any] = {
        "message_id": 4242,
        "chat": chat.to_dict(),
        "date": emulator.state.now(),
        "text": "You have sent 3 reports: …",
        "reply_markup": {"inline_keyboard": [[{"text": d, "callback_data": d}] for d in data]},
    }
    if chat.type == "channel":
        message["sender_chat"] = chat.to_dict()  # channel posts have no "from"
    else:
        message["from"] = bot.to_user_dict()
    return message


def press(emulator: BotApiEmulator, user: SimulatedUser, message: dict[str, Any], data: str) -> str:
    """A press on `message` carrying `data`, as a modified client can send for any button."""
    state, bot = emulator.state, emulator.state.bot(None)
    query_id = state.new_callback_query_id()
    bot.callback_queries[query_id] = CallbackQueryState(query_id, user.id, state.clock())
    payload = {
        "id": query_id,
        "from": user.account.to_dict(),
        "chat_instance": str(abs(message["chat"]["id"]) % 10**12),
        "data": data,
        "message": message,
    }
    state.enqueue(bot, "callback_query", payload)
    return query_id


def post(emulator: BotApiEmulator, kind: str, chat: Chat, text: str, **extra: Any) -> None:
    """A message, edit or channel post in `chat`, as Telegram delivers it."""
    message = {"message_id": 900, "chat": chat.to_dict(), "date": emulator.state.now()}
    message.update(text=text, **extra)
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    emulator.state.enqueue(emulator.state.bot(None), kind, message)


def spoken_into(emulator: BotApiEmulator, chat_ids: set[int], since: int) -> list[str]:
    return [
        f"{call.method} {call.params.get('chat_id')}"
        for call in emulator.calls[since:]
        if call.method.startswith(SPEAKING)
        and str(call.params.get("chat_id")) in map(str, chat_ids)
    ]


async def all_answered(user: SimulatedUser, query_ids: list[str]) -> list[str | None]:
    return [(await user.wait_for_callback_answer(q, timeout=10)).text for q in query_ids]


async def settle(people: list[SimulatedUser]) -> None:
    """Each person's earlier updates are handled (one user's updates are handled in order)."""
    for person in people:
        await person.send_command("help")
        await expect(person, "/report", timeout=10)


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud]


async def test_chats_the_bot_does_not_serve_get_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world = await build_world(harness)
    emulator = harness.emulator
    strangers = emulator.state.chats[STRANGERS]
    before = await snapshot(harness.db)
    since = len(emulator.calls)
    # Commands and messages in the strangers' group, and edits of them.
    for person in world.people:
        for command in ("start", "report", "myreports", "help", "language", "digest", "queue"):
            await person.send_command(command, chat=world.strangers)
        await person.send_command("start", "c_KAD-RD-017", chat=world.strangers)
        await person.send_text("/myreports@commitment_watch_test_bot", chat=world.strangers)
        await person.send_text("The road is broken", chat=world.strangers)
        await person.send_location(10.5, 7.4, chat=world.strangers)
    post(
        emulator,
        "edited_message",
        strangers,
        "/myreports",
        **{"from": world.mallory.account.to_dict()},
    )
    # Channel posts and their edits.
    for text in ("/start", "/myreports", "/queue", "hello"):
        post(emulator, "channel_post", world.channel, text, sender_chat=world.channel.to_dict())
    post(
        emulator, "edited_channel_post", world.channel, "/help", sender_chat=world.channel.to_dict()
    )
    # Every kind of button, pressed by everyone, on a message of the bot's in either chat.
    answered: dict[int, list[str]] = {}
    for chat in (strangers, world.channel):
        message = bot_post(emulator, chat, world.well_formed_presses())
        for person in world.people:
            for data in world.well_formed_presses() + GARBAGE:
                answered.setdefault(person.id, []).append(press(emulator, person, message, data))
    for person in world.people:
        texts = await all_answered(person, answered[person.id])
        assert all(texts), "every press is answered with a short text"
    await settle(world.people)
    await emulator.wait_until_delivered()
    assert spoken_into(emulator, {STRANGERS, CHANNEL}, since) == []
    assert emulator.sent_messages(STRANGERS) == []
    assert await snapshot(harness.db) == before
    assert_quiet(caplog)


async def test_added_to_a_strange_group_it_stays_silent(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mallory = harness.user("en", first_name="Mallory")
    group = harness.emulator.add_group(STRANGERS, "Not ours", admins=[mallory])
    since = len(harness.emulator.calls)
    member = {"status": "member", "user": harness.emulator.state.bot(None).to_user_dict()}
    harness.emulator.state.enqueue(
        harness.emulator.state.bot(None),
        "my_chat_member",
        {
            "chat": group.chat.to_dict(),
            "from": mallory.account.to_dict(),
            "date": harness.emulator.state.now(),
            "old_chat_member": {**member, "status": "left"},
            "new_chat_member": member,
        },
    )
    await mallory.send_command("start", chat=group)
    await settle([mallory])
    assert spoken_into(harness.emulator, {STRANGERS}, since) == []
    said = [r.getMessage() for r in caplog.records if r.name == "handlers.scope"]
    assert any(str(STRANGERS) in line and "stays silent" in line for line in said), said
    assert_quiet(caplog)


async def test_citizen_buttons_on_a_moderation_card_change_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world = await build_world(harness)
    card = world.card
    before = await snapshot(harness.db)
    since = len(harness.emulator.calls)
    presses = [d for d in world.well_formed_presses() if not d.startswith("m:")]
    query_ids = [await world.moderator.send_callback(d, message=card) for d in presses]
    assert await all_answered(world.moderator, query_ids) == [NOT_HERE] * len(presses)
    await settle([world.moderator])
    now = harness.emulator.state.chat_log(harness.emulator.state.bot(None), STAFF_CHAT)
    assert now is not None
    shown = now.bot_messages[card.message_id]
    assert (shown.text, shown.reply_markup, shown.edit_count) == (
        card.text,
        card.reply_markup,
        card.edit_count,
    )
    assert spoken_into(harness.emulator, {STAFF_CHAT}, since) == []
    assert await snapshot(harness.db) == before
    assert_quiet(caplog)


async def test_forged_callback_data_is_answered_and_refused_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world = await build_world(harness)
    citizen = world.citizen
    prompt = citizen.messages[-1]  # "Describe what you see": the bot's latest message to them
    before = await snapshot(harness.db)
    since = len(harness.emulator.calls)
    query_ids = [await citizen.send_callback(data, message=prompt) for data in GARBAGE]
    # On the card too, by a moderator: card buttons with forged numbers.
    card_ids = [await world.moderator.send_callback(d, message=world.card) for d in GARBAGE]
    assert await all_answered(citizen, query_ids) == [NO_LONGER_VALID] * len(GARBAGE)
    assert await all_answered(world.moderator, card_ids) == [NO_LONGER_VALID] * len(GARBAGE)
    await settle([citizen, world.moderator])
    chats = {citizen.id, world.moderator.id, STAFF_CHAT}
    assert spoken_into(harness.emulator, chats, since) == [
        f"sendMessage {citizen.id}",
        f"sendMessage {world.moderator.id}",
    ], "only the two /help answers"
    assert await snapshot(harness.db) == before
    assert_quiet(caplog)


async def test_a_page_pressed_twice_is_not_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """ "message is not modified" is Telegram's answer to drawing the same page again."""
    caplog.set_level(logging.INFO)
    world = await build_world(harness)
    citizen = world.citizen
    await citizen.send_command("myreports")
    page = await expect(citizen, "You have sent 1 report")
    query_id = await citizen.send_callback("mr:0", message=page)
    await citizen.wait_for_callback_answer(query_id, timeout=10)
    await settle([citizen])
    edits = [c for c in harness.emulator.calls if c.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].status == 400
    assert (edits[0].description or "").startswith("Bad Request: message is not modified")
    assert [m.text for m in citizen.messages].count(page.text) == 1, "not sent again"
    assert_quiet(caplog)
