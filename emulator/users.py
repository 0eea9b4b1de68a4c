"""Simulated people: citizens, moderators and officials talking to the bot.

Every action builds the Update Telegram would send, queues it for the bot (getUpdates or
webhook) and returns it. Reading is event-driven: next_message() waits for the bot's next
message (or edit) in the chat and fails with a report of what did happen.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

from emulator.htmltext import utf16_len
from emulator.inbox import read_many, read_next, summary
from emulator.models import BotMessage, CallbackAnswer
from emulator.state import (
    BotAccount,
    CallbackQueryState,
    ChatLog,
    EmulatorState,
    UserAccount,
)

if TYPE_CHECKING:
    from emulator.groups import SimulatedGroup

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def _webp_stub() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 16), (255, 200, 0, 255)).save(buffer, format="WEBP")
    return buffer.getvalue()


@dataclass
class _UserShared:
    """State shared by all views (one per bot) of the same simulated user."""

    cursors: dict[tuple[int, int], int] = field(default_factory=dict)
    last_update: dict[int, dict[str, Any]] = field(default_factory=dict)
    live_locations: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


class SimulatedUser:
    def __init__(
        self,
        state: EmulatorState,
        account: UserAccount,
        bot: str | None = None,
        shared: _UserShared | None = None,
    ) -> None:
        self._state = state
        self.account = account
        self._bot_ref = bot
        self._shared = shared or _UserShared()

    def __repr__(self) -> str:
        return f"SimulatedUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def id(self) -> int:
        return self.account.id

    user_id = id

    @property
    def first_name(self) -> str:
        return self.account.first_name

    @property
    def username(self) -> str | None:
        return self.account.username

    @property
    def language_code(self) -> str | None:
        return self.account.language_code

    def for_bot(self, bot: str) -> SimulatedUser:
        """The same person talking to another bot (token or username)."""
        self._state.bot(bot)
        return SimulatedUser(self._state, self.account, bot, self._shared)

    @property
    def bot(self) -> BotAccount:
        return self._state.bot(self._bot_ref)

    # -- plumbing -------------------------------------------------------------------------------

    def _log(self, chat: SimulatedGroup | int | None = None) -> ChatLog:
        chat_id = self.id if chat is None else chat if isinstance(chat, int) else chat.chat_id
        log = self._state.chat_log(self.bot, chat_id)
        if log is None:
            raise LookupError(f"unknown chat {chat_id}")
        return log

    def _message(
        self,
        log: ChatLog,
        content: dict[str, Any],
        reply_to: BotMessage | int | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": log.next_message_id(),
            "from": self.account.to_dict(),
            "chat": log.chat.to_dict(),
            "date": self._state.now(),
        }
        if reply_to is not None:
            message["reply_to_message"] = self._replied(log, reply_to)
        message.update(content)
        log.user_messages[message["message_id"]] = message
        return message

    def _replied(self, log: ChatLog, reply_to: BotMessage | int) -> dict[str, Any]:
        message_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
        bot_message = log.bot_messages.get(message_id)
        target = bot_message.raw if bot_message else log.user_messages.get(message_id)
        if target is None:
            raise LookupError(f"no message {message_id} in chat {log.chat.id} to reply to")
        replied = copy.deepcopy(target)
        replied.pop("reply_to_message", None)
        return replied

    def _bot_sees(self, log: ChatLog, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups a non-admin bot only sees commands, mentions and replies."""
        chat, bot = log.chat, self.bot
        if chat.type == "private" or bot.can_read_all_group_messages:
            return True
        status = chat.status_of(bot.id, is_bot=True)
        if status in ("administrator", "creator"):
            return True
        if status in ("left", "kicked"):
            return False
        text = message.get("text") or message.get("caption") or ""
        replied = message.get("reply_to_message") or {}
        return (
            text.startswith("/")
            or f"@{bot.username}".lower() in text.lower()
            or replied.get("from", {}).get("id") == bot.id
        )

    def _unblock_if_needed(self, log: ChatLog) -> None:
        """Writing to a bot you blocked unblocks it first (the "Restart" button)."""
        bot = self.bot
        if log.chat.type == "private" and self.id in bot.blocked_by:
            bot.blocked_by.discard(self.id)
            self._state.enqueue(
                bot, "my_chat_member", my_chat_member(self._state, bot, self, "member")
            )

    def _deliver(self, log: ChatLog, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        bot = self.bot
        self._unblock_if_needed(log)
        if kind in ("message", "edited_message") and not self._bot_sees(log, payload):
            return bot.updates.make(kind, payload)
        update = self._state.enqueue(bot, kind, payload)
        self._shared.last_update[bot.id] = update
        return update

    async def _send(
        self,
        content: dict[str, Any],
        chat: SimulatedGroup | None = None,
        reply_to: BotMessage | int | None = None,
    ) -> dict[str, Any]:
        log = self._log(chat)
        return self._deliver(log, "message", self._message(log, content, reply_to))

    # -- sending --------------------------------------------------------------------------------

    async def send_text(
        self,
        text: str,
        *,
        chat: SimulatedGroup | None = None,
        reply_to: BotMessage | int | None = None,
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        entities = [
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
            for match in _COMMAND.finditer(text)
        ]
        if entities:
            content["entities"] = entities
        return await self._send(content, chat, reply_to)

    async def send_command(
        self, command: str, payload: str | None = None, *, chat: SimulatedGroup | None = None
    ) -> dict[str, Any]:
        text = "/" + command.lstrip("/")
        if payload:
            text += f" {payload}"
        return await self.send_text(text, chat=chat)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        *,
        chat: SimulatedGroup | None = None,
        reply_to: BotMessage | int | None = None,
    ) -> dict[str, Any]:
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        update = await self._send({"location": location}, chat, reply_to)
        if live_period:
            log = self._log(chat)
            self._shared.live_locations[(self.bot.id, log.chat.id)] = update["message"]
        return update

    async def update_live_location(
        self,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        *,
        chat: SimulatedGroup | None = None,
    ) -> dict[str, Any]:
        log = self._log(chat)
        original = self._shared.live_locations.get((self.bot.id, log.chat.id))
        if original is None:
            raise LookupError("no live location shared yet: send_location(..., live_period=N)")
        edited = copy.deepcopy(original)
        edited["location"].update({"latitude": latitude, "longitude": longitude})
        if horizontal_accuracy is not None:
            edited["location"]["horizontal_accuracy"] = horizontal_accuracy
        edited["edit_date"] = self._state.now()
        log.user_messages[edited["message_id"]] = edited
        self._shared.live_locations[(self.bot.id, log.chat.id)] = edited
        return self._deliver(log, "edited_message", edited)

    async def send_venue(
        self,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
        *,
        chat: SimulatedGroup | None = None,
    ) -> dict[str, Any]:
        location = {"latitude": latitude, "longitude": longitude}
        venue = {"location": location, "title": title, "address": address}
        return await self._send({"location": location, "venue": venue}, chat)

    async def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        chat: SimulatedGroup | None = None,
        reply_to: BotMessage | int | None = None,
    ) -> dict[str, Any]:
        sizes = self._state.files.add_photo(data)
        content: dict[str, Any] = {"photo": [size.photo_size() for size in sizes]}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self._send(content, chat, reply_to)

    async def send_album(
        self,
        photos: list[bytes],
        caption: str | None = None,
        *,
        chat: SimulatedGroup | None = None,
    ) -> list[dict[str, Any]]:
        """Photos sharing a fresh media_group_id, back to back (caption on the first)."""
        if not 2 <= len(photos) <= 10:
            raise ValueError("an album has 2 to 10 items")
        group_id = self._state.new_media_group_id()
        return [
            await self.send_photo(data, caption if index == 0 else None, group_id, chat=chat)
            for index, data in enumerate(photos)
        ]

    async def send_document(
        self,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        *,
        chat: SimulatedGroup | None = None,
    ) -> dict[str, Any]:
        stored = self._state.files.add(data, "document", mime_type=mime_type, file_name=file_name)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return await self._send(content, chat)

    async def send_voice(
        self, data: bytes, duration: int = 3, *, chat: SimulatedGroup | None = None
    ) -> dict[str, Any]:
        stored = self._state.files.add(data, "voice", mime_type="audio/ogg", duration=duration)
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return await self._send({"voice": voice}, chat)

    async def send_sticker(
        self, data: bytes | None = None, emoji: str = "👍", *, chat: SimulatedGroup | None = None
    ) -> dict[str, Any]:
        stored = self._state.files.add(
            data or _webp_stub(), "sticker", mime_type="image/webp", width=512, height=512
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.size,
        }
        return await self._send({"sticker": sticker}, chat)

    async def send_contact(
        self,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        *,
        own: bool = True,
        chat: SimulatedGroup | None = None,
    ) -> dict[str, Any]:
        """A shared contact; own=True (the request_contact case) carries this user's id."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if own:
            contact["user_id"] = self.id
        return await self._send({"contact": contact}, chat)

    # -- buttons --------------------------------------------------------------------------------

    def _keyboard_message(
        self, message: BotMessage | None, chat: SimulatedGroup | None
    ) -> tuple[ChatLog, BotMessage]:
        if message is not None:
            log = self._log(message.chat_id)
            current = log.bot_messages.get(message.message_id)
            if current is None or current.deleted:
                raise LookupError(f"message {message.message_id} is gone (deleted)")
            return log, current
        log = self._log(chat)
        for candidate in reversed(log.timeline):
            if not candidate.deleted and candidate.buttons:
                return log, candidate
        raise LookupError(
            f"no bot message with an inline keyboard in chat {log.chat.id}; messages: "
            f"{[summary(m) for m in log.timeline[-5:]]}"
        )

    async def press_button(
        self,
        label: str,
        message: BotMessage | None = None,
        *,
        chat: SimulatedGroup | None = None,
    ) -> str:
        """Press the inline button labelled `label`; returns the callback query id."""
        log, current = self._keyboard_message(message, chat)
        for row in (current.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") != label:
                    continue
                if "callback_data" not in button:
                    raise LookupError(f"button {label!r} is not a callback button: {button}")
                return self._callback(log, current, button["callback_data"])
        raise LookupError(
            f"no button {label!r} on message #{current.message_id} in chat {log.chat.id}; "
            f"available: {current.buttons}"
        )

    async def send_callback(
        self,
        data: str,
        message: BotMessage | None = None,
        *,
        chat: SimulatedGroup | None = None,
    ) -> str:
        """A callback query with arbitrary (forged or stale) data."""
        log = self._log(message.chat_id if message else chat)
        current = log.bot_messages.get(message.message_id) if message else None
        if current is None and message is None and log.timeline:
            current = log.timeline[-1]
        return self._callback(log, current, data)

    def _callback(self, log: ChatLog, message: BotMessage | None, data: str) -> str:
        state, bot = self._state, self.bot
        query_id = state.new_callback_query_id()
        payload: dict[str, Any] = {
            "id": query_id,
            "from": self.account.to_dict(),
            "chat_instance": str(abs(hash((bot.id, log.chat.id))) % 10**18),
            "data": data,
        }
        if message is not None:
            raw = copy.deepcopy(message.items[0].raw if message.items else message.raw)
            payload["message"] = raw
        bot.callback_queries[query_id] = CallbackQueryState(query_id, self.id, state.clock())
        self._deliver(log, "callback_query", payload)
        return query_id

    async def press_reply_button(
        self,
        label: str,
        *,
        location: tuple[float, float] | None = None,
        phone_number: str | None = None,
    ) -> dict[str, Any]:
        """Tap a reply-keyboard button of the latest keyboard the bot showed in private chat."""
        buttons = self.reply_keyboard_buttons()
        for button in buttons:
            if button.get("text") == label:
                if button.get("request_location"):
                    if location is None:
                        raise ValueError(f"{label!r} requests a location: pass location=(lat, lon)")
                    return await self.send_location(*location)
                if button.get("request_contact"):
                    return await self.send_contact(phone_number or "+10000000000", self.first_name)
                return await self.send_text(label)
        labels = [button.get("text") for button in buttons]
        raise LookupError(f"no reply button {label!r}; available: {labels}")

    def reply_keyboard_buttons(self) -> list[dict[str, Any]]:
        """The buttons of the reply keyboard shown in private chat now (KeyboardButton dicts).

        That is the latest keyboard the bot sent, unless a later message removed it.
        """
        for candidate in reversed(self._log().timeline):
            markup = candidate.reply_markup or {}
            if markup.get("remove_keyboard"):
                break
            if "keyboard" in markup:
                return [
                    {"text": button} if isinstance(button, str) else dict(button)
                    for row in markup["keyboard"]
                    for button in row
                ]
        raise LookupError("no reply keyboard is shown in this chat")

    async def resend_last_update(self) -> dict[str, Any]:
        """Deliver the last update again, same update_id, as Telegram does on retries."""
        bot = self.bot
        update = self._shared.last_update.get(bot.id)
        if update is None:
            raise LookupError("this user has not sent anything to the bot yet")
        bot.updates.push_again(update)
        return update

    # -- reading --------------------------------------------------------------------------------

    async def next_message(
        self, timeout: float = 5.0, *, chat: SimulatedGroup | None = None
    ) -> BotMessage:
        """The next message the bot sent or edited in this chat that this user has not read."""
        return await read_next(
            self._state, self.bot, self._log(chat), self._shared.cursors, timeout, repr(self)
        )

    async def wait_for_messages(
        self, n: int, timeout: float = 5.0, *, chat: SimulatedGroup | None = None
    ) -> list[BotMessage]:
        """The next n unread messages, waiting up to `timeout` for all of them."""
        return await read_many(
            self._state, self.bot, self._log(chat), self._shared.cursors, n, timeout, repr(self)
        )

    @property
    def messages(self) -> list[BotMessage]:
        """Everything the bot has in the private chat, current state."""
        return list(self._log().timeline)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return list(self._state.callback_answers.get(self.id, []))

    async def wait_for_callback_answer(
        self, query_id: str | None = None, timeout: float = 5.0
    ) -> CallbackAnswer:
        """The answer to query_id (or the first answer to any query of this user)."""

        def find() -> CallbackAnswer | None:
            for answer in self._state.callback_answers.get(self.id, []):
                if query_id is None or answer.query_id == query_id:
                    return answer
            return None

        if await self._state.answers_signal.wait_until(lambda: find() is not None, timeout):
            return find()  # type: ignore[return-value]
        raise TimeoutError(f"{self!r}: callback query {query_id} not answered within {timeout}s")


def my_chat_member(
    state: EmulatorState, bot: BotAccount, user: SimulatedUser, new_status: str
) -> dict[str, Any]:
    old_status = "kicked" if new_status == "member" else "member"

    def member(status: str) -> dict[str, Any]:
        data: dict[str, Any] = {"status": status, "user": bot.to_user_dict()}
        if status == "kicked":
            data["until_date"] = 0
        return data

    chat = state.chats.get(user.id)
    return {
        "chat": chat.to_dict() if chat else {"id": user.id, "type": "private"},
        "from": user.account.to_dict(),
        "date": state.now(),
        "old_chat_member": member(old_status),
        "new_chat_member": member(new_status),
    }
