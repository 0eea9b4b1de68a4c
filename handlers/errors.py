"""The last line of defence: log the failure, tell the person politely, never show a traceback.

Where the apology goes:
- a button press not answered yet: the apology is the answer (an alert), in any chat we serve;
- a press the handler had already answered (Telegram refuses a second answer), or a message: in
  the presser's private chat a message; in the staff group a short reply to the card or message,
  in the staff's language;
- anywhere else (groups and channels the bot does not serve): nothing.

Telegram being unreachable or refusing (network errors, timeouts, 429s, a user who blocked the
bot) is expected: one warning line. Anything else is a bug and is logged with its traceback.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Chat, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.core.services import BotContext
from bot.i18n.translate import _, use_locale

log = logging.getLogger(__name__)


def is_expected(error: BaseException | None) -> bool:
    """Telegram's side going wrong, not ours: no traceback for these."""
    if isinstance(error, BadRequest):
        return False  # we asked for something Telegram refuses: a bug worth its traceback
    return isinstance(error, (NetworkError, Forbidden, RetryAfter))


def apology() -> str:
    return _(
        "Sorry, something went wrong on our side. Nothing you sent is lost; "
        "please try again in a moment."
    )


def staff_apology() -> str:
    return _("Sorry, that did not work because of a fault on our side. Please try again.")


async def on_error(update: object, context: BotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if is_expected(error):
        log.warning("could not finish update %s: Telegram said: %s", update_id, error)
    else:
        log.error("error while handling update %s", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    staff_chat = context.services.settings.moderator_chat_id
    in_staff = staff_chat is not None and chat.id == staff_chat
    if chat.type != ChatType.PRIVATE and not in_staff:
        return  # never speak in chats the bot does not serve
    try:
        query = update.callback_query
        if query is not None and await _answer(query, apology()):
            return
        if chat.type == ChatType.PRIVATE:
            await context.bot.send_message(chat.id, apology())
        else:
            await _reply_in_staff_group(context, chat, _replied_to(update))
    except (Forbidden, TelegramError) as failure:
        log.warning("could not tell anyone about the error in update %s: %s", update_id, failure)


async def _answer(query: CallbackQuery, text: str) -> bool:
    """The apology as the press's answer; False when Telegram refuses it as answered already
    (or too old), so that it goes as a message instead."""
    try:
        await query.answer(text, show_alert=True)
    except BadRequest:
        return False
    return True


def _replied_to(update: Update) -> Message | None:
    if update.callback_query is not None:
        message = update.callback_query.message
        return message if isinstance(message, Message) else None
    return update.effective_message


async def _reply_in_staff_group(context: BotContext, chat: Chat, message: Message | None) -> None:
    with use_locale(context.services.settings.staff_locale):
        text = staff_apology()
    reply = (
        ReplyParameters(message.message_id, allow_sending_without_reply=True)
        if message is not None
        else None
    )
    await context.bot.send_message(chat.id, text, reply_parameters=reply)
