"""A simulated group chat: membership, the bot's standing in it, and what the bot posted."""

from __future__ import annotations

from emulator.inbox import read_many, read_next
from emulator.models import BotMessage
from emulator.state import BotAccount, Chat, ChatLog, EmulatorState
from emulator.users import SimulatedUser


class SimulatedGroup:
    def __init__(
        self,
        state: EmulatorState,
        chat: Chat,
        bot: str | None = None,
        cursors: dict[tuple[int, int], int] | None = None,
    ) -> None:
        self._state = state
        self.chat = chat
        self._bot_ref = bot
        self._cursors = cursors if cursors is not None else {}

    def __repr__(self) -> str:
        return f"SimulatedGroup(chat_id={self.chat_id}, title={self.title!r})"

    @property
    def chat_id(self) -> int:
        return self.chat.id

    id = chat_id

    @property
    def title(self) -> str | None:
        return self.chat.title

    @property
    def bot(self) -> BotAccount:
        return self._state.bot(self._bot_ref)

    def for_bot(self, bot: str) -> SimulatedGroup:
        self._state.bot(bot)
        return SimulatedGroup(self._state, self.chat, bot, self._cursors)

    def add_member(self, user: SimulatedUser, status: str = "member") -> None:
        self.chat.members[user.id] = status

    def remove_member(self, user: SimulatedUser) -> None:
        self.chat.members[user.id] = "left"

    def set_status(self, user: SimulatedUser, status: str) -> None:
        """creator / administrator / member / left / kicked."""
        self.chat.members[user.id] = status

    def set_bot_status(self, status: str) -> None:
        """The bot's own standing here, e.g. "member" to see privacy mode at work."""
        self.chat.members[self.bot.id] = status

    def _log(self) -> ChatLog:
        log = self._state.chat_log(self.bot, self.chat_id)
        assert log is not None
        return log

    async def next_message(self, timeout: float = 5.0) -> BotMessage:
        return await read_next(
            self._state, self.bot, self._log(), self._cursors, timeout, repr(self)
        )

    async def wait_for_messages(self, n: int, timeout: float = 5.0) -> list[BotMessage]:
        return await read_many(
            self._state, self.bot, self._log(), self._cursors, n, timeout, repr(self)
        )

    @property
    def messages(self) -> list[BotMessage]:
        return list(self._log().timeline)
