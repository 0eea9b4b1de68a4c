"""Telegram-facing handlers: parse an update, call a service in bot/, render the reply."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.app.application import AppType
from bot.channels.buttons import Prefix, pattern
from bot.core.services import services_of
from handlers import (
    commands,
    digests,
    flood,
    flow,
    forget,
    language,
    moderation,
    mydata,
    officials,
    scope,
)
from handlers.errors import on_error
from handlers.locale import resolve_locale

# Messages are handled in private chats and (replies, /queue) in the staff group only; channel
# posts and edited messages (live locations) in any chat have no handler, so get no reply.
PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE
IMAGE_DOCUMENT = filters.Document.IMAGE


def register_handlers(application: AppType) -> None:
    # The one answer to an account over the flood limit (bot/app/flood.py), before anything else.
    application.add_handler(TypeHandler(Update, flood.slow_down), group=-2)
    application.add_handler(TypeHandler(Update, resolve_locale), group=-1)
    command_handlers = {
        "start": commands.start,
        "report": commands.report,
        "project": commands.project,
        "cancel": commands.cancel,
        "help": commands.help_command,
        "myreports": commands.myreports,
        "status": commands.status,
        "language": language.language_command,
        "digest": digests.digest_command,
        "mydata": mydata.mydata_command,
        "forget": forget.forget_command,
    }
    for name, callback in command_handlers.items():
        application.add_handler(CommandHandler(name, callback, filters=PRIVATE & NEW_MESSAGE))
    # Every button press is answered, and acts only in its own kind of chat (handlers/scope.py).
    buttons: list[tuple[scope.Scope, scope.Callback, tuple[Prefix, ...]]] = [
        (scope.ON_OWN_MESSAGE, flow.on_consent, (Prefix.CONSENT,)),
        (
            scope.ON_OWN_MESSAGE,
            language.on_language_button,
            (Prefix.LANGUAGE_MENU, Prefix.LANGUAGE),
        ),
        (scope.PERSONAL, flow.on_draft_button, (Prefix.DRAFT,)),
        (scope.ON_OWN_MESSAGE, commands.myreports_page, (Prefix.MY_REPORTS_PAGE,)),
        # Card buttons are also checked for the moderator role, answers for the agency, and
        # "is it fixed?" for the author.
        (scope.STAFF, moderation.on_card_button, (Prefix.CARD,)),
        (scope.PERSONAL, officials.on_answer_button, (Prefix.ANSWER,)),
        (scope.PERSONAL, officials.on_fix_button, (Prefix.FIX,)),
        (scope.PERSONAL, forget.on_forget_button, (Prefix.FORGET,)),
    ]
    for where, on_press, prefixes in buttons:
        application.add_handler(
            CallbackQueryHandler(scope.scoped(where, on_press), pattern=pattern(*prefixes))
        )
    application.add_handler(
        ChatMemberHandler(scope.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    staff_chat = services_of(application).settings.moderator_chat_id
    if staff_chat is not None:
        staff = filters.Chat(staff_chat) & NEW_MESSAGE
        application.add_handler(CommandHandler("queue", moderation.queue, filters=staff))
        application.add_handler(
            MessageHandler(
                staff & filters.REPLY & filters.TEXT & ~filters.COMMAND, moderation.on_staff_reply
            )
        )
    application.add_handler(
        MessageHandler(PRIVATE & NEW_MESSAGE & filters.COMMAND, commands.unknown_command)
    )
    application.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & filters.TEXT, flow.on_text))
    application.add_handler(
        MessageHandler(PRIVATE & NEW_MESSAGE & filters.LOCATION, flow.on_location)
    )
    application.add_handler(
        MessageHandler(PRIVATE & NEW_MESSAGE & (filters.PHOTO | IMAGE_DOCUMENT), flow.on_photo)
    )
    application.add_handler(
        MessageHandler(PRIVATE & NEW_MESSAGE & filters.Document.ALL, flow.on_other_document)
    )
    application.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & filters.VOICE, flow.on_voice))
    application.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE, flow.on_unexpected))
    # Last: data no pattern above matches (empty, unknown prefix) is answered too.
    application.add_handler(CallbackQueryHandler(scope.on_unmatched_button))
    application.add_error_handler(on_error)
