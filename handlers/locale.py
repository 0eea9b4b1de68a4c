"""Before any other handler (group -1): read the user's state once and pick their language."""

from __future__ import annotations

from telegram import Update

from bot.core.services import BotContext
from bot.i18n.translate import choose_locale, set_locale
from bot.reports import drafting


async def resolve_locale(update: Update, context: BotContext) -> None:
    default = context.services.settings.default_locale
    user = update.effective_user
    if user is None:
        set_locale(default)
        return
    state = await drafting.state(context.services, user.id)
    context.citizen_state = state
    set_locale(choose_locale(state.language, user.language_code, default))
