"""/language: the citizen chooses the language the bot writes in, each language named in itself.

Before the privacy notice is accepted nothing is stored: choosing a language shows the notice
again in that language, and its "I agree" button carries the choice, which is stored with the
citizen when they agree (handlers/flow.py:on_consent). Afterwards a choice is stored at once, the
chat's command menu follows it, and a report in progress is shown again in the new language.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.app.command_menu import publish_chat_menu
from bot.channels.buttons import language_data, parse_language
from bot.core.services import BotContext
from bot.i18n.languages import language_choices, remember_language
from bot.i18n.translate import _, available_locales, language_name, set_locale
from bot.reports import drafting
from handlers.keyboards import consent_keyboard
from handlers.prompts import privacy_notice
from handlers.replies import answer_callback, send_prompt
from handlers.safe_edit import Edit, edit_text

log = logging.getLogger(__name__)

PER_ROW = 3


def language_keyboard(commitment_id: int | None = None) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(name, callback_data=language_data(code, commitment_id))
        for code, name in language_choices()
    ]
    return InlineKeyboardMarkup(
        [buttons[start : start + PER_ROW] for start in range(0, len(buttons), PER_ROW)]
    )


def picker_text() -> str:
    return _("🌐 Choose the language I should write to you in:")


async def language_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, picker_text(), reply_markup=language_keyboard())


async def adopt_language(context: BotContext, user_id: int, language: str) -> bool:
    """Store the choice of a citizen who has agreed, and write in it from now on.

    False (nothing stored, nothing changed) for someone who has not agreed yet.
    """
    if not await remember_language(context.services, user_id, language):
        return False
    set_locale(language)
    try:
        await publish_chat_menu(context.bot, user_id, language)
    except TelegramError:
        log.warning("could not set the command menu of chat %s", user_id, exc_info=True)
    return True


async def on_language_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    language, commitment_id = parse_language(query.data)
    if language is None:
        # "🌐 Language" under the privacy notice: the choice replaces the notice for a moment.
        await answer_callback(query)
        await _show(query, context, picker_text(), language_keyboard(commitment_id))
        return
    if language not in available_locales():
        await answer_callback(query, _("This button is no longer valid."))
        return
    await answer_callback(query)
    if not await adopt_language(context, user.id, language):
        # Not agreed yet: nothing is stored. The notice again, in the chosen language; its
        # "I agree" carries the choice (and the commitment of a deep link, if any).
        set_locale(language)
        await _show(
            query,
            context,
            privacy_notice(context.services.settings),
            consent_keyboard(commitment_id, language),
        )
        return
    await _show(
        query,
        context,
        _("From now on I will write to you in {language}.").format(
            language=language_name(language)
        ),
        None,
    )
    view = await drafting.current(context.services, user.id)
    if view is not None:
        # The report in progress, with its buttons, in the new language.
        await send_prompt(context, user.id, view)


async def _show(
    query: CallbackQuery,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Replace the message the button was on; send a new one if it can no longer be edited."""
    if await edit_text(query.message, text, markup) is Edit.GONE:
        await context.bot.send_message(query.from_user.id, text, reply_markup=markup)
