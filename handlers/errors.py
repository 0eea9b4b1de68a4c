"""The last line of defence: log the failure, tell the user politely, never show a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError

from bot.core.services import BotContext
from bot.i18n.translate import _

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return  # never spam the staff group with apologies
    text = _(
        "Sorry, something went wrong on our side. Nothing you sent is lost; "
        "please try again in a moment."
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except (Forbidden, TelegramError):
        log.warning("could not tell user about the error for update %s", update_id)
