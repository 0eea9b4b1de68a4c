"""Photos with a caption and buttons, and their edits, as Telegram takes and refuses them: the
1,024-character limit counts the caption as read (tags removed, entities decoded), an edit that
changes nothing is refused, and a photo has no text to edit."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _no_flood_limits(emu: BotApiEmulator) -> None:
    emu.limits.enabled = False


def buttons(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"cb:{label}") for label in labels]]
    )


async def test_a_caption_of_1024_characters_as_read_is_taken_with_its_buttons(
    ptb: Bot, emu: BotApiEmulator, make_jpeg
) -> None:
    amina = emu.add_user(1001, "Amina")
    # 1,024 characters as read: the tags and the entity's spelling do not count.
    caption = "<b>Card</b> " + "x" * 1013 + " &amp; <i>end</i>"
    sent = await ptb.send_photo(
        1001,
        make_jpeg(64, 64),
        caption=caption,
        parse_mode=ParseMode.HTML,
        reply_markup=buttons("✅ Approve", "🚫 Reject"),
    )
    assert len(sent.caption or "") == 1024 and sent.caption.endswith("& end")
    message = await amina.next_message()
    assert message.kind == "photo" and message.buttons == ["✅ Approve", "🚫 Reject"]
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await ptb.send_photo(1001, make_jpeg(64, 64), caption=caption + "!", parse_mode="HTML")
    # Characters outside the BMP count twice (UTF-16), as Telegram counts them.
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await ptb.send_photo(1001, make_jpeg(64, 64), caption="📷" * 513)


async def test_editing_a_captioned_photo(ptb: Bot, emu: BotApiEmulator, make_jpeg) -> None:
    emu.add_user(1001, "Amina")
    photo = await ptb.send_photo(
        1001,
        make_jpeg(64, 64),
        caption="<b>waiting</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=buttons("Ok"),
    )
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await ptb.edit_message_text(
            "approved", chat_id=1001, message_id=photo.message_id, reply_markup=buttons("Ok")
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb.edit_message_caption(
            chat_id=1001,
            message_id=photo.message_id,
            caption="<b>waiting</b>",
            parse_mode=ParseMode.HTML,
            reply_markup=buttons("Ok"),
        )
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await ptb.edit_message_caption(
            chat_id=1001, message_id=photo.message_id, caption="y" * 1025, reply_markup=None
        )
    # Only the buttons change: still an edit of the caption's message.
    edited = await ptb.edit_message_caption(
        chat_id=1001,
        message_id=photo.message_id,
        caption="<b>waiting</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=buttons("Back"),
    )
    assert edited.caption == "waiting" and edited.reply_markup == buttons("Back")
    edited = await ptb.edit_message_caption(
        chat_id=1001, message_id=photo.message_id, caption="approved", reply_markup=buttons("Ok")
    )
    assert edited.caption == "approved"
    text = await ptb.send_message(1001, "plain")
    with pytest.raises(BadRequest, match=r"(?i)there is no caption in the message to edit"):
        await ptb.edit_message_caption(chat_id=1001, message_id=text.message_id, caption="x")
