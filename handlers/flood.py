"""The one answer to an account that went over the flood limit (bot/app/flood.py).

Registered before every other handler (group -2). For the update that crossed the limit it
answers "please slow down" in the citizen's language and stops there; every other update passes
through at the cost of a dict lookup. Updates in the cool-down never get here: the update
processor drops them as they arrive.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.app.update_processor import flood_gate
from bot.core.services import BotContext
from bot.i18n.formatting import format_number
from bot.i18n.translate import _, choose_locale, ngettext, set_locale
from bot.reports import drafting
from handlers.replies import answer_callback


async def slow_down(update: Update, context: BotContext) -> None:
    user = update.effective_user
    gate = flood_gate(context.application)
    if user is None or gate is None or not gate.is_slow_down(user.id, update.update_id):
        return
    services = context.services
    # One read, once a cool-down: the language the citizen chose, not just Telegram's.
    state = await drafting.state(services, user.id)
    set_locale(choose_locale(state.language, user.language_code, services.settings.default_locale))
    seconds = services.settings.flood_cooldown_seconds
    # Translators: the bot's answer to someone sending very many messages in a short time;
    # {seconds} is FLOOD_COOLDOWN_SECONDS (60). Keep it friendly: it may be a person in a hurry.
    text = ngettext(
        "You are sending messages very fast, so I will not read what you send for the next "
        "{seconds} second. Please slow down, then carry on.",
        "You are sending messages very fast, so I will not read what you send for the next "
        "{seconds} seconds. Please slow down, then carry on.",
        seconds,
    ).format(seconds=format_number(seconds))
    if state.draft is not None:
        text += " " + _("Your report in progress is kept.")
    if update.callback_query is not None:
        await answer_callback(update.callback_query, text, show_alert=True)
    elif update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await context.bot.send_message(update.effective_chat.id, text)
    raise ApplicationHandlerStop
