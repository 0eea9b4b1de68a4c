"""Officials join their agency through an invite deep link (?start=join_<token>)."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.catalog import localized
from bot.context import BotContext
from bot.i18n import _, current_locale
from bot.officials import InviteStatus, redeem_invite


async def join_agency(update: Update, context: BotContext, token: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    result = await redeem_invite(services.db, token, user.id, services.clock(), current_locale())
    match result.status:
        case InviteStatus.JOINED:
            name = localized(
                result.agency_names or {}, current_locale(), services.settings.default_locale
            )
            text = _(
                "Welcome! You are now an official of {agency}. Approved reports about its "
                "commitments will reach you here."
            ).format(agency=f"<b>{escape(name or result.agency_code or '')}</b>")
        case InviteStatus.ALREADY_USED:
            text = _(
                "This invitation link was already used. Each link works once; please ask the "
                "administrator for a new one."
            )
        case InviteStatus.EXPIRED:
            text = _(
                "This invitation link has expired. Please ask the administrator for a new one."
            )
        case _:
            text = _("This invitation link is not valid. Please check that you copied all of it.")
    await context.bot.send_message(chat.id, text)
