"""Simulated users and groups: the updates they produce and what they read back."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _no_flood_limits(emu: BotApiEmulator) -> None:
    emu.limits.enabled = False


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=label.lower())] for label in labels]
    )


async def test_text_and_commands_look_like_telegram(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina", language_code="ha", username="amina_k")
    hello = await amina.send_text("hello")
    start = await amina.send_command("start", "c_KAD-RD-017")
    assert start["update_id"] == hello["update_id"] + 1
    message = start["message"]
    assert message["message_id"] == hello["message"]["message_id"] + 1
    assert message["from"] == {
        "id": 1001,
        "is_bot": False,
        "first_name": "Amina",
        "username": "amina_k",
        "language_code": "ha",
    }
    assert message["chat"] == {
        "id": 1001,
        "type": "private",
        "username": "amina_k",
        "first_name": "Amina",
    }
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    updates = await ptb.get_updates()
    assert [u.update_id for u in updates] == [hello["update_id"], start["update_id"]]
    assert updates[1].message.text == "/start c_KAD-RD-017"
    assert "entities" not in hello["message"]


async def test_locations_live_updates_and_venues(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    shared = await amina.send_location(10.52, 7.44, horizontal_accuracy=25.0, live_period=900)
    moved = await amina.update_live_location(10.53, 7.45)
    assert "edited_message" in moved
    assert moved["edited_message"]["message_id"] == shared["message"]["message_id"]
    await amina.send_venue(10.5, 7.4, "Market", "Main St")
    first, second, third = await ptb.get_updates()
    assert first.message.location.to_dict()["live_period"] == 900
    assert first.message.location.horizontal_accuracy == 25.0
    assert second.edited_message.location.latitude == 10.53 and second.edited_message.edit_date
    assert third.message.venue.title == "Market" and third.message.location.longitude == 7.4


async def test_media_albums_documents_voice_stickers_contacts(
    ptb: Bot, emu: BotApiEmulator, make_jpeg
) -> None:
    amina = emu.add_user(1001, "Amina")
    album = await amina.send_album([make_jpeg(100, 100), make_jpeg(120, 80)], caption="two views")
    await amina.send_document(b"%PDF", file_name="x.pdf", mime_type="application/pdf")
    await amina.send_voice(b"OggS", duration=3)
    await amina.send_sticker()
    await amina.send_contact("+2348000000000", "Amina")
    updates = await ptb.get_updates()
    one, two, document, voice, sticker, contact = (u.message for u in updates)
    assert one.media_group_id == two.media_group_id == album[0]["message"]["media_group_id"]
    assert one.caption == "two views" and two.caption is None
    assert one.photo[-1].file_unique_id != two.photo[-1].file_unique_id
    assert document.document.file_name == "x.pdf"
    assert voice.voice.mime_type == "audio/ogg"
    assert sticker.sticker.emoji
    assert contact.contact.user_id == 1001
    # The bot can fetch what users sent.
    data = await (await ptb.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(data) == b"%PDF"


async def test_replies_carry_the_replied_message(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    await ptb.send_message(1001, "What is broken?")
    question = await amina.next_message()
    await amina.send_text("The bridge", reply_to=question)
    [update] = await ptb.get_updates()
    assert update.message.reply_to_message.text == "What is broken?"
    assert update.message.reply_to_message.from_user.id == ptb.id


async def test_buttons_in_groups_and_privacy_mode(ptb: Bot, emu: BotApiEmulator) -> None:
    moderator = emu.add_user(1001, "Musa")
    official = emu.add_user(1002, "Ngozi")
    staff = emu.add_group(-100123, "Staff", members=[official], admins=[moderator])
    await ptb.send_message(-100123, "Report KAD-RD-017", reply_markup=keyboard("Approve", "Reject"))
    card = await staff.next_message()
    assert card.chat_id == -100123 and card.buttons == ["Approve", "Reject"]
    query_id = await official.press_button("Reject", message=card)
    await moderator.send_text("chatting in the group", chat=staff)  # the bot is admin: it sees all
    first, second = await ptb.get_updates()
    assert first.callback_query.id == query_id
    assert first.callback_query.from_user.id == 1002
    assert first.callback_query.message.chat.id == -100123
    assert second.message.chat.type == "supergroup" and second.message.from_user.id == 1001

    staff.set_bot_status("member")  # privacy mode now hides ordinary chatter
    await moderator.send_text("not for the bot", chat=staff)
    await moderator.send_text("/stats", chat=staff)
    await moderator.send_text("a reply", chat=staff, reply_to=card)
    texts = [u.message.text for u in await ptb.get_updates(offset=second.update_id + 1)]
    assert texts == ["/stats", "a reply"]
    assert [m.message_id for m in staff.messages] == [card.message_id]


async def test_press_button_errors_are_helpful(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    with pytest.raises(LookupError, match="no bot message with an inline keyboard"):
        await amina.press_button("Yes")
    link = InlineKeyboardMarkup([[InlineKeyboardButton("Open", url="https://example.org")]])
    await ptb.send_message(1001, "link", reply_markup=link)
    with pytest.raises(LookupError, match="not a callback button"):
        await amina.press_button("Open")
    with pytest.raises(LookupError, match=r"available: \['Open'\]"):
        await amina.press_button("Close")


async def test_forged_callback_data(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    sent = await ptb.send_message(1001, "pick", reply_markup=keyboard("A"))
    message = await amina.next_message()
    await amina.send_callback("admin:delete_all", message)
    [update] = await ptb.get_updates()
    assert update.callback_query.data == "admin:delete_all"
    assert update.callback_query.message.message_id == sent.message_id


async def test_resend_last_update_redelivers_the_same_update_id(
    ptb: Bot, emu: BotApiEmulator
) -> None:
    amina = emu.add_user(1001, "Amina")
    sent = await amina.send_text("once")
    [update] = await ptb.get_updates()
    assert await ptb.get_updates(offset=update.update_id + 1) == ()  # confirmed
    await amina.resend_last_update()
    later = await amina.send_text("twice?")
    again = await ptb.get_updates(offset=update.update_id + 1)
    assert [u.update_id for u in again] == [sent["update_id"], later["update_id"]]
    assert again[0].message.text == "once"


async def test_blocking_and_coming_back(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    emu.block_bot(1001)
    await amina.send_text("I'm back")  # writing again unblocks, as "Restart" does
    kicked, restored, message = await ptb.get_updates()
    assert kicked.my_chat_member.new_chat_member.status == "kicked"
    assert restored.my_chat_member.new_chat_member.status == "member"
    assert message.message.text == "I'm back"
    assert (await ptb.send_message(1001, "welcome back")).text == "welcome back"


async def test_wait_for_messages_and_several_bots(emu: BotApiEmulator, ptb: Bot) -> None:
    other_token = emu.create_bot(username="other_bot", first_name="Other")
    amina = emu.add_user(1001, "Amina")
    async with Bot(other_token, base_url=emu.base_url) as other:
        await other.send_message(1001, "from the other bot")
        for n in range(3):
            await ptb.send_message(1001, f"n{n}")
        assert [m.text for m in await amina.wait_for_messages(3)] == ["n0", "n1", "n2"]
        via_other = amina.for_bot("other_bot")
        assert (await via_other.next_message()).text == "from the other bot"
        await via_other.send_text("hi other")
        assert await ptb.get_updates() == ()
        assert (await other.get_updates())[0].message.text == "hi other"
    with pytest.raises(TimeoutError, match="no new message"):
        await amina.wait_for_messages(1, timeout=0.05)
