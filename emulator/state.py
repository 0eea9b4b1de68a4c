"""The emulator's world: bots, users, chats, messages, files and update queues.

Everything runs on one asyncio event loop, so plain data structures suffice; waiting is done with
Signal, an edge-triggered "something changed" that coroutines re-check their condition on.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.faults import FaultPlan
from emulator.files import FileStore
from emulator.models import ApiCall, BotMessage, CallbackAnswer
from emulator.ratelimit import EmulatorLimits, RateLimiter

# The update types Telegram sends when allowed_updates is empty or was never given.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


# Every wait's timeout is multiplied by this: a timeout is a bound on "never happens", not a speed
# check, and a loaded machine (tests in parallel processes, a shared CI host) needs a wider bound.
WAIT_SCALE = float(os.environ.get("EMULATOR_WAIT_SCALE", "1"))


class Signal:
    """Wakes every waiter when fired; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """True once predicate() holds; False if the timeout passes first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout * WAIT_SCALE
        while not predicate():
            event = self._event
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as
            # the event fires, and the cancelled reader then waits on (a sandbox never exits).
            waiter = asyncio.ensure_future(event.wait())
            try:
                done, _ = await asyncio.wait({waiter}, timeout=remaining)
            finally:
                waiter.cancel()
            if not done:
                return predicate()
        return True


@dataclass
class UserAccount:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # user or bot id -> "creator" | "administrator" | "member" | "left" | "kicked"
    members: dict[int, str] = field(default_factory=dict)
    default_bot_status: str = "administrator"

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data

    def status_of(self, member_id: int, *, is_bot: bool = False) -> str:
        if is_bot and member_id not in self.members:
            return self.default_bot_status
        return self.members.get(member_id, "left")


class ChatLog:
    """One bot's view of one chat: its messages and the feed simulated users read from."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self._ids = itertools.count(1)
        self.bot_messages: dict[int, BotMessage] = {}
        self.user_messages: dict[int, dict[str, Any]] = {}
        self.timeline: list[BotMessage] = []
        self.events: list[BotMessage] = []
        self.signal = Signal()

    def next_message_id(self) -> int:
        return next(self._ids)

    def publish(self, message: BotMessage) -> None:
        """A message was sent or edited: readers see a snapshot of it."""
        self.events.append(message.snapshot())
        self.signal.fire()


@dataclass
class CallbackQueryState:
    id: str
    user_id: int
    created: float
    answered: bool = False


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


class UpdateQueue:
    """Updates waiting for the bot: confirmed by getUpdates offsets or webhook deliveries."""

    def __init__(self, first_update_id: int) -> None:
        self._ids = itertools.count(first_update_id)
        self.pending: list[dict[str, Any]] = []
        # Duplicates to hand out once more, ahead of everything else, whatever the offset.
        self.redeliver: list[dict[str, Any]] = []
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.delivered_up_to = 0
        self.signal = Signal()

    def make(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": next(self._ids), kind: payload}

    def push(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if kind not in self.allowed:
            return False
        self.pending.append(update)
        self.signal.fire()
        return True

    def push_again(self, update: dict[str, Any]) -> None:
        self.redeliver.append(update)
        self.signal.fire()

    def confirm_below(self, offset: int) -> None:
        self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def keep_last(self, count: int) -> None:
        self.pending = self.pending[-count:] if count else []

    def set_allowed(self, allowed: list[str] | None) -> None:
        self.allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES

    def mark_delivered(self, updates: list[dict[str, Any]]) -> None:
        if updates:
            self.delivered_up_to = max(self.delivered_up_to, *(u["update_id"] for u in updates))
            self.signal.fire()

    @property
    def has_work(self) -> bool:
        return bool(self.pending or self.redeliver)


@dataclass
class BotAccount:
    token: str
    id: int
    username: str
    first_name: str
    can_join_groups: bool = True
    can_read_all_group_messages: bool = False
    updates: UpdateQueue = field(default_factory=lambda: UpdateQueue(1))
    webhook: WebhookConfig | None = None
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    # setMyName and friends, by (setting, language_code)
    settings: dict[tuple[str, str], Any] = field(default_factory=dict)
    chats: dict[int, ChatLog] = field(default_factory=dict)
    blocked_by: set[int] = field(default_factory=set)
    callback_queries: dict[str, CallbackQueryState] = field(default_factory=dict)
    poll_generation: int = 0
    logged_out: bool = False

    def to_user_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


class EmulatorState:
    """Shared by the HTTP handlers and the simulated users."""

    def __init__(
        self,
        limits: EmulatorLimits,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.wall_clock = wall_clock
        self.faults = FaultPlan()
        self.rate_limiter = RateLimiter(limits, clock)
        self.files = FileStore()
        self.bots: dict[str, BotAccount] = {}
        self.users: dict[int, UserAccount] = {}
        self.chats: dict[int, Chat] = {}
        self.calls: list[ApiCall] = []
        self.calls_signal = Signal()
        self.callback_answers: dict[int, list[CallbackAnswer]] = {}
        self.answers_signal = Signal()
        self.callback_answer_timeout = 15.0
        # Real Telegram keeps a bare "&" as text; the emulator rejects it unless this is False.
        self.strict_html_ampersand = True
        self.webhook_retry_delay = 0.2
        self.stopping = False
        self._query_ids = itertools.count(4_242_000_000_000_000_001)
        self._media_group_ids = itertools.count(13_000_000_000_000_001)

    # -- lookups ------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.wall_clock())

    def default_bot(self) -> BotAccount:
        if not self.bots:
            raise RuntimeError("create a bot first: emu.create_bot(...)")
        return next(iter(self.bots.values()))

    def bot(self, token_or_username: str | None = None) -> BotAccount:
        if token_or_username is None:
            return self.default_bot()
        if token_or_username in self.bots:
            return self.bots[token_or_username]
        for bot in self.bots.values():
            if bot.username == token_or_username.lstrip("@"):
                return bot
        raise KeyError(f"no bot {token_or_username!r}")

    def chat_log(self, bot: BotAccount, chat_id: int) -> ChatLog | None:
        log = bot.chats.get(chat_id)
        if log is None and chat_id in self.chats:
            log = bot.chats[chat_id] = ChatLog(self.chats[chat_id])
        return log

    def find_chat_id(self, ref: int | str) -> int | None:
        if isinstance(ref, int):
            return ref if ref in self.chats else None
        name = ref.lstrip("@").lower()
        for chat in self.chats.values():
            if chat.username and chat.username.lower() == name:
                return chat.id
        return None

    def new_callback_query_id(self) -> str:
        return str(next(self._query_ids))

    def new_media_group_id(self) -> str:
        return str(next(self._media_group_ids))

    # -- updates ------------------------------------------------------------------------------

    def enqueue(self, bot: BotAccount, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create an update and queue it for the bot (the webhook task picks it up if set)."""
        update = bot.updates.make(kind, payload)
        bot.updates.push(update)
        return update

    def record_call(self, call: ApiCall) -> None:
        self.calls.append(call)
        self.calls_signal.fire()
