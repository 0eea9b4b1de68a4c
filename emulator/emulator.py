"""BotApiEmulator: a local Telegram Bot API server plus the people who talk to the bot."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from emulator.faults import FaultPlan
from emulator.groups import SimulatedGroup
from emulator.models import ApiCall, BotMessage
from emulator.ratelimit import EmulatorLimits
from emulator.server import ApiServer
from emulator.state import BotAccount, Chat, EmulatorState, UpdateQueue, UserAccount
from emulator.users import SimulatedUser, my_chat_member
from emulator.webhook import stop_delivery

_bot_ids = itertools.count(7_100_000_001)


class BotApiEmulator:
    """Start it, create a bot, point python-telegram-bot at base_url / base_file_url.

    `clock` (monotonic seconds) drives the rate limits and callback-query expiry and
    `wall_clock` (Unix seconds) the message dates; both default to real time.
    """

    def __init__(
        self,
        limits: EmulatorLimits | None = None,
        *,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.state = EmulatorState(
            limits or EmulatorLimits(), clock or time.monotonic, wall_clock or time.time
        )
        self._server = ApiServer(self.state)
        self._runner: web.AppRunner | None = None
        self._users: dict[int, SimulatedUser] = {}
        self._groups: dict[int, SimulatedGroup] = {}
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> BotApiEmulator:
        self.state.stopping = False
        # handler_cancellation: a client that gives up on a long poll ends that poll here too.
        runner = web.AppRunner(
            self._server.make_app(), handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.host = host
        self.port = runner.addresses[0][1]  # the real port when 0 asked for any free one
        return self

    async def stop(self) -> None:
        state = self.state
        state.stopping = True
        for bot in state.bots.values():
            bot.updates.signal.fire()  # let long polls and webhook loops end now
            await stop_delivery(bot.webhook)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- knobs ----------------------------------------------------------------------------------

    @property
    def limits(self) -> EmulatorLimits:
        return self.state.limits

    @limits.setter
    def limits(self, limits: EmulatorLimits) -> None:
        self.state.limits = limits
        self.state.rate_limiter.limits = limits

    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    @property
    def calls(self) -> list[ApiCall]:
        return self.state.calls

    @property
    def strict_html_ampersand(self) -> bool:
        return self.state.strict_html_ampersand

    @strict_html_ampersand.setter
    def strict_html_ampersand(self, value: bool) -> None:
        self.state.strict_html_ampersand = value

    # -- the world ------------------------------------------------------------------------------

    def create_bot(
        self,
        username: str = "commitment_watch_bot",
        first_name: str = "Commitment Watch",
        *,
        can_read_all_group_messages: bool = False,
    ) -> str:
        bot_id = next(_bot_ids)
        token = f"{bot_id}:AAH{secrets.token_urlsafe(24)[:32]}"
        bot = BotAccount(
            token=token,
            id=bot_id,
            username=username,
            first_name=first_name,
            can_read_all_group_messages=can_read_all_group_messages,
        )
        # Distinct, realistic-looking update_id ranges per bot.
        bot.updates = UpdateQueue(first_update_id=100_000_000 + (bot_id % 1000) * 1_000_000)
        self.state.bots[token] = bot
        return token

    def bot_id(self, token: str | None = None) -> int:
        return self.state.bot(token).id

    def paid_messages(self, token: str | None = None) -> int:
        """Paid broadcasts Telegram accepted from the bot (0.1 Star each)."""
        return self.state.rate_limiter.paid_messages.get(self.bot_id(token), 0)

    def add_user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> SimulatedUser:
        """A person with an open private chat (chat_id == user_id) with every bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        account = UserAccount(user_id, first_name, last_name, username, language_code)
        self.state.users[user_id] = account
        self.state.chats[user_id] = Chat(
            id=user_id,
            type="private",
            username=username,
            first_name=first_name,
            last_name=last_name,
        )
        user = SimulatedUser(self.state, account)
        self._users[user_id] = user
        return user

    def user(self, user_id: int) -> SimulatedUser:
        return self._users[user_id]

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: Iterable[SimulatedUser] = (),
        admins: Iterable[SimulatedUser] = (),
        *,
        creator: SimulatedUser | None = None,
        bot_status: str = "administrator",
        username: str | None = None,
    ) -> SimulatedGroup:
        """A group (chat_id like -100... makes a supergroup) every bot is in, as bot_status."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(
            id=chat_id,
            type="supergroup" if str(chat_id).startswith("-100") else "group",
            title=title,
            username=username,
            default_bot_status=bot_status,
        )
        for member in members:
            chat.members[member.id] = "member"
        for admin in admins:
            chat.members[admin.id] = "administrator"
        if creator is not None:
            chat.members[creator.id] = "creator"
        self.state.chats[chat_id] = chat
        group = SimulatedGroup(self.state, chat)
        self._groups[chat_id] = group
        return group

    def group(self, chat_id: int) -> SimulatedGroup:
        return self._groups[chat_id]

    def block_bot(self, user_id: int, bot: str | None = None, *, notify: bool = True) -> None:
        """The user blocked the bot: sends answer 403; the bot gets a my_chat_member update."""
        account = self.state.bot(bot)
        account.blocked_by.add(user_id)
        if notify and user_id in self._users:
            update = my_chat_member(self.state, account, self._users[user_id], "kicked")
            self.state.enqueue(account, "my_chat_member", update)

    def unblock_bot(self, user_id: int, bot: str | None = None) -> None:
        self.state.bot(bot).blocked_by.discard(user_id)

    # -- what happened ------------------------------------------------------------------------

    def sent_messages(self, chat_id: int, bot: str | None = None) -> list[BotMessage]:
        log = self.state.chat_log(self.state.bot(bot), chat_id)
        return list(log.timeline) if log else []

    def commands(
        self,
        language_code: str | None = None,
        scope: dict[str, Any] | str | None = None,
        bot: str | None = None,
    ) -> list[dict[str, Any]]:
        """The command menu stored for (scope, language_code).

        With scope=None: what a private-chat user with that language sees, following
        Telegram's fallbacks (all_private_chats, then default; own language, then none).
        A scope may be a dict or just its type, e.g. "all_private_chats".
        """
        stored = self.state.bot(bot).commands
        if scope is not None:
            scope_dict = {"type": scope} if isinstance(scope, str) else scope
            key = json.dumps(scope_dict, sort_keys=True)
            return list(stored.get((key, language_code or ""), []))
        for scope_type in ("all_private_chats", "default"):
            key = json.dumps({"type": scope_type}, sort_keys=True)
            for language in dict.fromkeys([language_code or "", ""]):
                if (key, language) in stored:
                    return list(stored[(key, language)])
        return []

    async def wait_for_call(
        self,
        method: str | None = None,
        status: int | None = None,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ApiCall:
        """The first recorded call (from index `since`) matching all the given conditions."""

        def find() -> ApiCall | None:
            for call in self.state.calls[since:]:
                if method is not None and call.method != method:
                    continue
                if status is not None and call.status != status:
                    continue
                if predicate is not None and not predicate(call):
                    continue
                return call
            return None

        if await self.state.calls_signal.wait_until(lambda: find() is not None, timeout):
            return find()  # type: ignore[return-value]
        recent = ", ".join(repr(call) for call in self.state.calls[-10:])
        raise TimeoutError(
            f"no call method={method} status={status} within {timeout}s; recent: [{recent}]"
        )

    async def wait_until_delivered(self, timeout: float = 5.0, bot: str | None = None) -> None:
        """Until the bot has fetched (getUpdates) or acknowledged (webhook) every update."""
        queue = self.state.bot(bot).updates

        def done() -> bool:
            if queue.redeliver:
                return False
            return all(update["update_id"] <= queue.delivered_up_to for update in queue.pending)

        if not await queue.signal.wait_until(done, timeout):
            raise TimeoutError(f"{len(queue.pending)} update(s) not delivered within {timeout}s")

    def reset_rate_limits(self) -> None:
        self.state.rate_limiter.reset()
