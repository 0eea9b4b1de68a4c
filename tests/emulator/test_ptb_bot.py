"""python-telegram-bot's own Bot against the emulator: it must not notice the difference."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken
from telegram.request import HTTPXRequest

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _no_flood_limits(emu: BotApiEmulator) -> None:
    # These tests are about shapes, not pacing; test_ratelimit.py covers the limits.
    emu.limits.enabled = False


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"cb:{label}")] for label in labels]
    )


async def test_send_edit_delete_seen_by_the_user(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina", language_code="ha")
    sent = await ptb.send_message(
        1001,
        "<b>Hello</b> Amina &amp; welcome",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("Yes", "No"),
    )
    assert sent.text == "Hello Amina & welcome"
    assert sent.entities[0].type == "bold"
    assert sent.from_user.id == ptb.id and sent.chat.id == 1001

    first = await amina.next_message()
    assert (first.text, first.html, first.kind) == (
        "Hello Amina & welcome",
        "<b>Hello</b> Amina &amp; welcome",
        "text",
    )
    assert first.buttons == ["Yes", "No"] and first.callback_data("No") == "cb:No"

    edited = await ptb.edit_message_text("Thanks!", chat_id=1001, message_id=sent.message_id)
    assert edited.edit_date is not None
    update = await amina.next_message()
    assert (update.message_id, update.text, update.edit_count) == (sent.message_id, "Thanks!", 1)
    assert update.buttons == []  # an edit without reply_markup drops the keyboard, as on Telegram
    assert first.text == "Hello Amina & welcome"  # events are snapshots

    assert await ptb.delete_message(1001, sent.message_id)
    [current] = amina.messages
    assert current.deleted and current.edited and current.text == "Thanks!"
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await ptb.delete_message(1001, sent.message_id)


async def test_inline_keyboard_round_trip(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    await ptb.send_message(1001, "Confirm?", reply_markup=keyboard("Confirm", "Cancel"))
    query_id = await amina.press_button("Confirm")
    [update] = await ptb.get_updates(timeout=0)
    query = update.callback_query
    assert (query.id, query.data, query.from_user.id) == (query_id, "cb:Confirm", 1001)
    assert query.message.text == "Confirm?"
    await query.answer("Saved", show_alert=True)
    answer = await amina.wait_for_callback_answer(query_id)
    assert (answer.text, answer.show_alert) == ("Saved", True)
    await query.edit_message_reply_markup(keyboard("Done"))
    assert (await amina.next_message(timeout=1)).buttons == ["Confirm", "Cancel"]
    assert (await amina.next_message(timeout=1)).buttons == ["Done"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await query.edit_message_reply_markup(keyboard("Done"))
    with pytest.raises(LookupError, match=r"available: \['Done'\]"):
        await amina.press_button("Confirm")


async def test_photo_upload_get_file_and_download(ptb: Bot, emu: BotApiEmulator, make_jpeg) -> None:
    amina = emu.add_user(1001, "Amina")
    original = make_jpeg(1200, 900, exif=True)
    sent = await ptb.send_photo(1001, original, caption="<i>Evidence</i>", parse_mode="HTML")
    assert sent.caption == "Evidence"
    assert sent.photo[0].width <= 90 and sent.photo[-1].width == 1200
    assert len({size.file_unique_id for size in sent.photo}) == len(sent.photo)

    received = await amina.next_message()
    assert received.kind == "photo" and received.caption == "Evidence"
    assert received.media == [original]  # the exact bytes, EXIF and all, for tests to inspect
    assert Image.open(io.BytesIO(received.media[0])).getexif()[0x010F] == "TestCamera"

    file = await ptb.get_file(sent.photo[-1].file_id)
    assert file.file_path.startswith(emu.base_file_url)
    assert bytes(await file.download_as_bytearray()) == original
    thumb = await (await ptb.get_file(sent.photo[0])).download_as_bytearray()
    assert Image.open(io.BytesIO(thumb)).size[0] <= 90

    again = await ptb.send_photo(1001, sent.photo[-1].file_id)  # re-send by file_id
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id


async def test_user_photo_is_downloadable_by_the_bot(
    ptb: Bot, emu: BotApiEmulator, make_jpeg
) -> None:
    amina = emu.add_user(1001, "Amina")
    picture = make_jpeg(800, 600)
    await amina.send_photo(picture, caption="pothole")
    [update] = await ptb.get_updates()
    photo = update.message.photo
    assert update.message.caption == "pothole"
    assert photo[-1].width == 800 and photo[0].width <= 90
    data = await (await ptb.get_file(photo[-1].file_id)).download_as_bytearray()
    assert bytes(data) == picture


async def test_files_over_20_mb_cannot_be_fetched(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    await amina.send_document(b"\0" * (20 * 1024 * 1024 + 1), file_name="huge.bin")
    [update] = await ptb.get_updates()
    with pytest.raises(BadRequest, match="File is too big"):
        await ptb.get_file(update.message.document.file_id)


async def test_media_group_with_uploads_and_file_ids(
    ptb: Bot, emu: BotApiEmulator, make_jpeg
) -> None:
    amina = emu.add_user(1001, "Amina")
    first, second = make_jpeg(300, 200), make_jpeg(200, 300)
    messages = await ptb.send_media_group(
        1001,
        [
            InputMediaPhoto(first, caption="<b>Before</b>", parse_mode="HTML"),
            InputMediaPhoto(second),
        ],
    )
    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id is not None
    assert messages[0].caption == "Before"
    album = await amina.next_message()
    assert album.kind == "media_group" and album.media == [first, second]
    assert album.caption == "Before" and [item.message_id for item in album.items] == [
        m.message_id for m in messages
    ]
    by_id = await ptb.send_media_group(
        1001,
        [
            InputMediaPhoto(messages[0].photo[-1].file_id),
            InputMediaPhoto(messages[1].photo[-1].file_id),
        ],
    )
    assert (await amina.next_message()).media == [first, second]
    assert len(by_id) == 2
    with pytest.raises(BadRequest, match="can't be mixed"):
        await ptb.send_media_group(
            1001, [InputMediaPhoto(first), InputMediaDocument(b"%PDF-1.4", filename="a.pdf")]
        )
    with pytest.raises(BadRequest, match="Too much messages"):
        await ptb.send_media_group(1001, [InputMediaPhoto(first)] * 11)


async def test_documents_locations_venues_voice_and_replies(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    doc = await ptb.send_document(
        1001, b"%PDF-1.4 report", filename="report.pdf", caption="Your receipt"
    )
    assert doc.document.file_name == "report.pdf" and doc.document.mime_type == "application/pdf"
    received = await amina.next_message()
    assert received.media == [b"%PDF-1.4 report"] and received.file_names == ["report.pdf"]

    await ptb.send_location(1001, latitude=10.52, longitude=7.44)
    assert (await amina.next_message()).location == {"latitude": 10.52, "longitude": 7.44}
    venue = await ptb.send_venue(1001, 10.5, 7.4, "Kaduna Road", "KAD-RD-017")
    assert venue.venue.title == "Kaduna Road"
    assert (await amina.next_message()).venue["address"] == "KAD-RD-017"
    voice = await ptb.send_voice(1001, b"OggS fake", duration=2)
    assert voice.voice.mime_type == "audio/ogg"
    assert (await amina.next_message()).raw["voice"]["duration"] == 2

    user_update = await amina.send_text("where is my report?")
    reply = await ptb.send_message(
        1001, "Here", reply_parameters=ReplyParameters(user_update["message"]["message_id"])
    )
    assert reply.reply_to_message.text == "where is my report?"
    await ptb.send_chat_action(1001, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong type of chat action"):
        await ptb.send_chat_action(1001, "dancing")


async def test_reply_keyboard_with_location_request(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton("Share location", request_location=True)], ["Skip"]],
        one_time_keyboard=True,
    )
    await ptb.send_message(1001, "Where is it?", reply_markup=markup)
    shown = await amina.next_message()
    assert shown.reply_keyboard == ["Share location", "Skip"]
    await amina.press_reply_button("Share location", location=(10.5, 7.4))
    await amina.press_reply_button("Skip")
    updates = await ptb.get_updates()
    assert updates[0].message.location.latitude == 10.5
    assert updates[1].message.text == "Skip"
    with pytest.raises(LookupError, match="available"):
        await amina.press_reply_button("Nope")


async def test_ptb_exceptions_for_telegram_errors(ptb: Bot, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    emu.add_user(1002, "Bello")
    emu.block_bot(1001)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb.send_message(1001, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await ptb.send_message(5555, "hi")
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await ptb.send_message(1002, "<b>x", parse_mode="HTML")
    request = HTTPXRequest()
    stranger = Bot("123456789:AAH" + "y" * 32, base_url=emu.base_url, request=request)
    try:
        with pytest.raises(InvalidToken):
            await stranger.get_me()
    finally:
        await request.shutdown()  # the Bot never initialised, so it would not close it


async def test_long_poll_returns_as_soon_as_a_user_writes(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.ensure_future(ptb.get_updates(timeout=20))
    # Wait until the poll is really parked inside the emulator, then write.
    await emu.state.bot().updates.signal.wait_until(lambda: emu.state.bot().poll_generation > 0, 5)
    await amina.send_command("start", "c_KAD-RD-017")
    updates = await asyncio.wait_for(poll, 5)
    assert loop.time() - started < 5
    [update] = updates
    assert update.message.text == "/start c_KAD-RD-017"
    assert (
        update.message.entities[0].type == "bot_command" and update.message.entities[0].length == 6
    )
    # Confirming with the offset empties the queue.
    assert await ptb.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_get_updates_timeout_answers_empty(ptb: Bot, emu: BotApiEmulator) -> None:
    assert await ptb.get_updates(timeout=0) == ()
    assert [call.method for call in emu.calls].count("getUpdates") == 1


async def test_next_message_timeout_explains_what_happened(ptb: Bot, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    await ptb.send_message(1001, "only one")
    with pytest.raises(BadRequest):
        await ptb.send_message(1001, "<b>broken", parse_mode="HTML")
    await amina.next_message()
    with pytest.raises(TimeoutError) as caught:
        await amina.next_message(timeout=0.05)
    report = str(caught.value)
    assert "'only one'" in report
    assert "sendMessage -> 400 Bad Request: can't parse entities" in report


async def test_captions_are_edited_with_their_own_method(
    ptb: Bot, emu: BotApiEmulator, make_jpeg
) -> None:
    amina = emu.add_user(1001, "Amina")
    photo = await ptb.send_photo(
        1001, make_jpeg(64, 64), caption="draft", reply_markup=keyboard("Ok")
    )
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await ptb.edit_message_text("x", chat_id=1001, message_id=photo.message_id)
    edited = await ptb.edit_message_caption(
        chat_id=1001, message_id=photo.message_id, caption="<b>final</b>", parse_mode="HTML"
    )
    assert edited.caption == "final" and edited.reply_markup is None
    await amina.next_message()
    latest = await amina.next_message()
    assert (latest.caption, latest.caption_html, latest.edit_count) == ("final", "<b>final</b>", 1)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await ptb.send_photo(1001, make_jpeg(64, 64), caption="x" * 1025)
