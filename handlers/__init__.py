"""Telegram-facing handlers: parse an update, call a service in bot/, render the reply."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler, filters

from bot.app.application import AppType
from bot.channels.buttons import Prefix, pattern
from bot.core.services import services_of
from handlers import commands, digests, flow, language, moderation, officials
from handlers.errors import on_error
from handlers.locale import resolve_locale

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE  # edited messages (live locations) are ignored
IMAGE_DOCUMENT = filters.Document.IMAGE


def register_handlers(application: AppType) -> None:
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
    }
    for name, callback in command_handlers.items():
        application.add_handler(CommandHandler(name, callback, filters=PRIVATE & NEW_MESSAGE))
    application.add_handler(CallbackQueryHandler(flow.on_consent, pattern=pattern(Prefix.CONSENT)))
    application.add_handler(
        CallbackQueryHandler(
            language.on_language_button, pattern=pattern(Prefix.LANGUAGE_MENU, Prefix.LANGUAGE)
        )
    )
    application.add_handler(
        CallbackQueryHandler(flow.on_draft_button, pattern=pattern(Prefix.DRAFT))
    )
    application.add_handler(
        CallbackQueryHandler(commands.myreports_page, pattern=pattern(Prefix.MY_REPORTS_PAGE))
    )
    # Card buttons are checked for the moderator role wherever they come from.
    application.add_handler(
        CallbackQueryHandler(moderation.on_card_button, pattern=pattern(Prefix.CARD))
    )
    # Officials' answers are checked against the report's agency wherever they come from.
    application.add_handler(
        CallbackQueryHandler(officials.on_answer_button, pattern=pattern(Prefix.ANSWER))
    )
    application.add_handler(
        CallbackQueryHandler(officials.on_fix_button, pattern=pattern(Prefix.FIX))
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
    application.add_error_handler(on_error)
