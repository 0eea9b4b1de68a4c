"""Editing a message the bot sent, where Telegram's expected refusals are outcomes, not errors.

A press on a button of an old or deleted message, a second press that would draw the same thing
again, a citizen who blocked the bot: Telegram refuses these edits, and that is no fault of ours.
They are told apart here (a debug line, no traceback); anything else (a timeout, a 5xx, a
flood wait) is raised as before, for the caller's retry or the error handler.

Call sites that edit what a button was on should use these: handlers/commands.py (/myreports
pages) and handlers/language.py do; handlers/flow.py (_remove_buttons, _edit),
handlers/moderation.py (_show_menu) and handlers/officials.py (card redraw, fix buttons) still
catch every TelegramError themselves, which also hides transient faults.
"""

from __future__ import annotations

import logging
from enum import Enum

from telegram import InlineKeyboardMarkup, MaybeInaccessibleMessage, Message
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)

_UNCHANGED = "message is not modified"
_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "chat not found",
)


class Edit(Enum):
    DONE = "done"
    UNCHANGED = "unchanged"  # it already shows exactly this
    GONE = "gone"  # deleted, too old to edit, or the person blocked the bot: send anew if needed


def _refusal(error: BadRequest | Forbidden) -> Edit | None:
    if isinstance(error, Forbidden):
        return Edit.GONE
    text = error.message.lower()
    if _UNCHANGED in text:
        return Edit.UNCHANGED
    if any(gone in text for gone in _GONE):
        return Edit.GONE
    return None


async def edit_text(
    message: MaybeInaccessibleMessage | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Edit:
    """Replace the text (and buttons) of a message the bot sent."""
    if not isinstance(message, Message):
        return Edit.GONE  # deleted or too old: Telegram no longer shows it to the bot
    try:
        await message.edit_text(text, reply_markup=markup)
    except (BadRequest, Forbidden) as error:
        return _expected(error, message)
    return Edit.DONE


async def edit_caption(
    message: MaybeInaccessibleMessage | None,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Edit:
    """Replace the caption (and buttons) of a photo the bot sent."""
    if not isinstance(message, Message):
        return Edit.GONE
    try:
        await message.edit_caption(caption, reply_markup=markup)
    except (BadRequest, Forbidden) as error:
        return _expected(error, message)
    return Edit.DONE


async def edit_buttons(
    message: MaybeInaccessibleMessage | None, markup: InlineKeyboardMarkup | None = None
) -> Edit:
    """Replace (or with None remove) the buttons of a message the bot sent."""
    if not isinstance(message, Message):
        return Edit.GONE
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except (BadRequest, Forbidden) as error:
        return _expected(error, message)
    return Edit.DONE


def _expected(error: BadRequest | Forbidden, message: Message) -> Edit:
    outcome = _refusal(error)
    if outcome is None:
        raise error
    log.debug("did not edit message %s in chat %s: %s", message.message_id, message.chat_id, error)
    return outcome
