"""Where each kind of button works, and an answer for every press that is not for us.

The bot speaks in private chats and in the staff group only. A button press is handed to its
handler only when
- its callback data is shaped as the bot writes it, numbers in range (bot/channels/buttons.py
  `well_formed`, checked before any query), and
- it comes from its own kind of chat, on a message the bot sent there: the buttons of citizens and
  officials (privacy consent, language, the draft, /myreports pages, agency answers, "is it fixed?")
  in the presser's own private chat with the bot, moderation-card buttons in the staff group
  (MODERATOR_CHAT_ID).

Anything else is answered (the spinner stops, with a short text in the presser's language: the
answer is shown to the presser only, never posted in the chat) and changes nothing: no query, no
edit, no message. Callback data that no handler's pattern matches is answered the same way by the
catch-all registered last. Messages, commands and channel posts from other chats have no handler
at all (handlers/__init__.py), and the bot added to a group that is not the staff group stays
silent there: it logs one line (with the chat's id, which helps an operator set MODERATOR_CHAT_ID)
and does not leave, so a staff group whose id is not configured yet, or has changed, is not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from functools import wraps
from typing import Any

from telegram import CallbackQuery, MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatType

from bot.channels.buttons import well_formed
from bot.core.services import BotContext
from bot.i18n.translate import _
from handlers.replies import answer_callback

log = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


class Place(Enum):
    PRIVATE = "the presser's private chat with the bot"
    STAFF = "the staff group"


@dataclass(frozen=True)
class Scope:
    place: Place
    # A press without a message comes only from inline-mode messages, which this bot never
    # sends. Handlers that edit the message they came from, or that must see the privacy notice,
    # need one; the others reply in the presser's private chat and check who presses against
    # the database, so such a press is taken as from the private chat.
    needs_message: bool = True


ON_OWN_MESSAGE = Scope(Place.PRIVATE)  # consent, language, /myreports pages
PERSONAL = Scope(Place.PRIVATE, needs_message=False)  # draft, agency answer, "is it fixed?"
STAFF = Scope(Place.STAFF)  # moderation cards


def refusal(scope: Scope) -> str:
    if scope.place is Place.STAFF:
        return _("Only moderators can do this.")
    return _("This button does not work here.")


def _from_the_bot(message: MaybeInaccessibleMessage, bot_id: int) -> bool:
    if not isinstance(message, Message):
        return True  # deleted or too old to be shown: Telegram tells us only its chat
    sender = message.from_user
    return sender is not None and sender.id == bot_id and message.forward_origin is None


def in_scope(query: CallbackQuery, scope: Scope, bot_id: int, staff_chat: int | None) -> bool:
    """Whether this press comes from the kind of chat, and message, its buttons are drawn in."""
    if query.inline_message_id is not None:
        return False
    message = query.message
    if message is None:
        return scope.place is Place.PRIVATE and not scope.needs_message
    chat = message.chat
    if scope.place is Place.STAFF:
        right_chat = staff_chat is not None and chat.id == staff_chat
    else:
        right_chat = chat.type == ChatType.PRIVATE and chat.id == query.from_user.id
    return right_chat and _from_the_bot(message, bot_id)


def scoped(scope: Scope, handler: Callback) -> Callback:
    """The handler, run only for well-formed presses in its scope; others are answered here."""

    @wraps(handler)
    async def run(update: Update, context: BotContext) -> None:
        query = update.callback_query
        assert query is not None
        if not well_formed(query.data):
            await refuse_malformed(query)
            return
        staff_chat = context.services.settings.moderator_chat_id
        if not in_scope(query, scope, context.bot.id, staff_chat):
            chat = query.message.chat if query.message is not None else None
            log.info(
                "ignored a button press from user %s in chat %s: %r works only in %s",
                query.from_user.id,
                chat.id if chat is not None else None,
                query.data,
                scope.place.value,
            )
            await answer_callback(query, refusal(scope))
            return
        await handler(update, context)

    return run


async def refuse_malformed(query: CallbackQuery) -> None:
    log.debug("refused malformed callback data %r from user %s", query.data, query.from_user.id)
    await answer_callback(query, _("This button is no longer valid."))


async def on_unmatched_button(update: Update, context: BotContext) -> None:
    """The catch-all, registered last: data that no button of ours carries."""
    query = update.callback_query
    assert query is not None
    await refuse_malformed(query)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot's own membership changed; in a chat the bot does not serve it stays silent."""
    change = update.my_chat_member
    assert change is not None
    chat, status = change.chat, change.new_chat_member.status
    if chat.type == ChatType.PRIVATE:
        return  # a citizen blocked or restarted the bot: nothing to say
    if chat.id == context.services.settings.moderator_chat_id:
        log.info("the bot is now %s in the staff group %s", status, chat.id)
        return
    log.info(
        "the bot is now %s in %s chat %s (%r), which is not the staff group "
        "(MODERATOR_CHAT_ID); it stays silent there",
        status,
        chat.type,
        chat.id,
        chat.title,
    )
