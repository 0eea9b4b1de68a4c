"""Who may moderate: members of the staff group, and anyone granted the moderator or admin role.

The verdict is remembered for VERDICT_SECONDS per user: a moderator's presses, and above all an
outsider replaying every button of a card hundreds of times, cost one role lookup and one
getChatMember, not one per press. So a grant, a revoked role or a change of group membership
takes effect within that time. A verdict that Telegram could not give (unreachable) is not
remembered: the next press asks again.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, TelegramError

from bot.core.services import Services
from storage.db import Database
from storage.queries import roles

log = logging.getLogger(__name__)

STAFF_ROLES = ("moderator", "admin")
MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}
VERDICT_SECONDS = 60.0
_MAX_VERDICTS = 10_000  # past this, expired verdicts are dropped


class VerdictCache:
    """user id -> (is staff, when it was decided), on the monotonic clock."""

    def __init__(
        self, ttl: float = VERDICT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._verdicts: dict[int, tuple[bool, float]] = {}

    def get(self, user_id: int) -> bool | None:
        found = self._verdicts.get(user_id)
        if found is None:
            return None
        verdict, decided = found
        if self._clock() - decided >= self._ttl:
            del self._verdicts[user_id]
            return None
        return verdict

    def put(self, user_id: int, verdict: bool) -> None:
        now = self._clock()
        if len(self._verdicts) >= _MAX_VERDICTS:
            self._verdicts = {
                uid: (v, at) for uid, (v, at) in self._verdicts.items() if now - at < self._ttl
            }
        self._verdicts[user_id] = (verdict, now)


# One cache per database (that is, per bot deployment in this process; tests run many).
_caches: weakref.WeakKeyDictionary[Database, VerdictCache] = weakref.WeakKeyDictionary()


def _cache(services: Services) -> VerdictCache:
    cache = _caches.get(services.db)
    if cache is None:
        cache = _caches[services.db] = VerdictCache()
    return cache


def known_outsider(services: Services, telegram_user_id: int) -> bool:
    """Decided lately that this user is not staff: refuse them without any query."""
    return _cache(services).get(telegram_user_id) is False


async def is_moderator(services: Services, bot: Bot, telegram_user_id: int) -> bool:
    cache = _cache(services)
    remembered = cache.get(telegram_user_id)
    if remembered is not None:
        return remembered
    verdict = await _decide(services, bot, telegram_user_id)
    if verdict is not None:
        cache.put(telegram_user_id, verdict)
    return bool(verdict)


async def _decide(services: Services, bot: Bot, telegram_user_id: int) -> bool | None:
    """True or False; None when Telegram could not say (and so nobody gets staff powers)."""
    async with services.db.read() as session:
        for role in STAFF_ROLES:
            if await roles.has_role(session, telegram_user_id, role):
                return True
    chat_id = services.settings.moderator_chat_id
    if chat_id is None:
        return False
    try:
        member = await bot.get_chat_member(chat_id, telegram_user_id)
    except BadRequest as error:
        # A definite answer ("user not found", or the staff chat is not known to Telegram).
        log.info("staff membership of user %s refused: %s", telegram_user_id, error)
        return False
    except TelegramError as error:
        # Telegram unreachable: when in doubt, nobody gets staff powers, and we ask again.
        log.warning("could not check staff membership of user %s: %s", telegram_user_id, error)
        return None
    return member.status in MEMBER_STATUSES
