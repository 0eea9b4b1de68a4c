"""Which language a user reads: their own choice, else Telegram's, else the deployment default."""

from __future__ import annotations

from bot.context import Services
from bot.i18n import negotiate
from storage.queries import citizens


async def locale_for_user(
    services: Services, telegram_user_id: int, language_code: str | None
) -> str:
    default = services.settings.default_locale
    async with services.db.read() as session:
        chosen = await citizens.language_of(session, telegram_user_id)
    if chosen:
        return chosen
    return negotiate(language_code, default)
