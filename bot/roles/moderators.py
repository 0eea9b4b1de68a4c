"""Who may moderate: members of the staff group, and anyone granted the moderator or admin role."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.core.services import Services
from storage.queries import roles

log = logging.getLogger(__name__)

STAFF_ROLES = ("moderator", "admin")
MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}


async def is_moderator(services: Services, bot: Bot, telegram_user_id: int) -> bool:
    async with services.db.read() as session:
        for role in STAFF_ROLES:
            if await roles.has_role(session, telegram_user_id, role):
                return True
    chat_id = services.settings.moderator_chat_id
    if chat_id is None:
        return False
    try:
        member = await bot.get_chat_member(chat_id, telegram_user_id)
    except TelegramError:
        # Not found, or Telegram unreachable: when in doubt, nobody gets staff powers.
        log.warning("could not check staff membership of user %s", telegram_user_id)
        return False
    return member.status in MEMBER_STATUSES
