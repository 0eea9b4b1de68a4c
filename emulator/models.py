"""What tests look at: the bot's messages as a user sees them, recorded calls, answers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass
class BotMessage:
    """One message the bot put into a chat, in its current state (edits applied).

    text/caption are what the user reads (markup removed, entities decoded); html/caption_html
    are what the bot sent. For an album (kind "media_group") `items` holds the single messages
    and `media` the bytes of all of them, in order.
    """

    chat_id: int
    message_id: int
    kind: str
    date: int
    text: str | None = None
    html: str | None = None
    caption: str | None = None
    caption_html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    media: list[bytes] = field(default_factory=list)
    file_names: list[str | None] = field(default_factory=list)
    location: dict[str, Any] | None = None
    venue: dict[str, Any] | None = None
    edit_count: int = 0
    deleted: bool = False
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    items: list[BotMessage] = field(default_factory=list)
    bot_id: int = 0
    # The Message object exactly as the Bot API returned it (used for callback queries).
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

    @property
    def body(self) -> str:
        """Text or caption, whichever the message has ("" for neither)."""
        return self.text or self.caption or ""

    @property
    def button_rows(self) -> list[list[str]]:
        markup = self.reply_markup or {}
        return [
            [button.get("text", "") for button in row] for row in markup.get("inline_keyboard", [])
        ]

    @property
    def buttons(self) -> list[str]:
        return [label for row in self.button_rows for label in row]

    @property
    def reply_keyboard(self) -> list[str]:
        markup = self.reply_markup or {}
        return [
            button if isinstance(button, str) else button.get("text", "")
            for row in markup.get("keyboard", [])
            for button in row
        ]

    def button(self, label: str) -> dict[str, Any]:
        markup = self.reply_markup or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if button.get("text") == label:
                    return button
        raise LookupError(
            f"no inline button {label!r} on message {self.message_id}; buttons: {self.buttons}"
        )

    def callback_data(self, label: str) -> str:
        data = self.button(label).get("callback_data")
        if data is None:
            raise LookupError(f"button {label!r} has no callback_data")
        return data

    def snapshot(self) -> BotMessage:
        """A frozen copy, so an event keeps showing the state it announced."""
        return copy.deepcopy(self)


class _CallTuple(NamedTuple):
    method: str
    params: dict[str, Any]
    status: int


class ApiCall(_CallTuple):
    """One recorded call: unpacks as (method, params, status).

    status is the HTTP status answered (0 when the connection was dropped); `fault` names the
    injected fault, if any, and `description` the error text of a failed call.
    """

    fault: str | None
    description: str | None
    bot_id: int | None
    at: float

    def __new__(
        cls,
        method: str,
        params: dict[str, Any],
        status: int,
        *,
        fault: str | None = None,
        description: str | None = None,
        bot_id: int | None = None,
        at: float = 0.0,
    ) -> ApiCall:
        self = super().__new__(cls, method, params, status)
        self.fault = fault
        self.description = description
        self.bot_id = bot_id
        self.at = at
        return self

    def __repr__(self) -> str:
        extra = f", fault={self.fault!r}" if self.fault else ""
        if self.description:
            extra += f", description={self.description!r}"
        return f"ApiCall({self.method!r}, status={self.status}{extra})"


@dataclass
class CallbackAnswer:
    """One answerCallbackQuery call for a query a simulated user made."""

    query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None
