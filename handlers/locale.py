"""Before any other handler (group -1): read the user's state once and pick their language."""

from __future__ import annotations

from telegram import Update

from bot.core.services import BotContext
from bot.i18n.translate import choose_locale, set_locale
from bot.reports import drafting
from bot.roles.moderators import known_outsider


async def resolve_locale(update: Update, context: BotContext) -> None:
    default = context.services.settings.default_locale
    user = update.effective_user
    if user is None:
        set_locale(default)
        return
    if _outsider_on_a_card(update, context, user.id):
        # A press an outsider repeats (maybe hundreds of times) is refused from memory, with no
        # database query: their language as Telegram reports it is enough for the refusal.
        set_locale(choose_locale(None, user.language_code, default))
        return
    state = await drafting.state(context.services, user.id)
    context.citizen_state = state
    set_locale(choose_locale(state.language, user.language_code, default))


def _outsider_on_a_card(update: Update, context: BotContext, user_id: int) -> bool:
    query, chat = update.callback_query, update.effective_chat
    staff_chat = context.services.settings.moderator_chat_id
    if query is None or chat is None or staff_chat is None or chat.id != staff_chat:
        return False
    return known_outsider(context.services, user_id)
