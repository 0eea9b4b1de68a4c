"""The citizen's own choice of language (/language), stored with the citizen.

Nothing about a person is stored before they accept the privacy notice, so a choice made before
that is carried by the notice's "I agree" button and stored when they agree (handlers/language.py).
"""

from __future__ import annotations

from bot.core.services import Services
from bot.i18n.translate import available_locales, language_name
from storage.queries import citizens


def language_choices() -> list[tuple[str, str]]:
    """(code, the language named in itself) for every language with a catalog."""
    return [(code, language_name(code)) for code in available_locales()]


async def remember_language(services: Services, telegram_user_id: int, locale: str) -> bool:
    """Store the choice for a citizen who has agreed to the privacy notice.

    Returns False, storing nothing, for someone who has not agreed (or an unknown locale).
    """
    if locale not in available_locales():
        return False
    async with services.db.write() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None or citizen.consent_at is None:
            return False
        await citizens.set_language(session, citizen, locale)
    return True
