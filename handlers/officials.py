"""Officials join their agency through an invite deep link (?start=join_<token>)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import _


async def join_agency(update: Update, context: BotContext, token: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    # Filled in with the admin command line's invites (issue 7).
    await context.bot.send_message(chat.id, _("This invitation link is not valid."))
