"""Pick the reader's language before any other handler runs (handler group -1)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import set_locale
from bot.locales import locale_for_user


async def resolve_locale(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        set_locale(context.services.settings.default_locale)
        return
    set_locale(await locale_for_user(context.services, user.id, user.language_code))
