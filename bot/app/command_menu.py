"""The command menu, in every language we have a catalog for."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.i18n.translate import N_, _, available_locales, use_locale

log = logging.getLogger(__name__)

# (command, description). Descriptions are translated per language when the menu is set.
CITIZEN_COMMANDS: tuple[tuple[str, str], ...] = (
    # Translators: this and the next six are shown in Telegram's command menu (3 to 256
    # characters each).
    ("report", N_("Report on a public commitment")),
    ("myreports", N_("Your reports and their status")),
    ("status", N_("Status of one report: /status REFERENCE")),
    ("cancel", N_("Stop the report you are writing")),
    ("help", N_("How this bot works")),
    ("language", N_("Choose your language")),
    ("mydata", N_("Everything stored about you")),
    ("forget", N_("Erase your data from this bot")),
)


def localized_commands(locale: str) -> list[BotCommand]:
    with use_locale(locale):
        return [BotCommand(command, _(description)) for command, description in CITIZEN_COMMANDS]


async def publish_command_menu(bot: ExtBot, default_locale: str) -> int:
    """Set the menu for private chats: one per language, and the default for everyone else.

    A menu Telegram does not take (after the request layer's retries) is a warning, not a reason
    to stop: the bot works without it. Returns how many menus failed.
    """
    scope = BotCommandScopeAllPrivateChats()
    failed = 0
    for locale in [None, *available_locales()]:
        commands = localized_commands(locale or default_locale)
        try:
            await bot.set_my_commands(commands, scope=scope, language_code=locale)
        except TelegramError as error:
            failed += 1
            log.warning(
                "could not set the command menu (%s): %s", locale or "default language", error
            )
    return failed


async def publish_chat_menu(bot: ExtBot, chat_id: int, locale: str) -> None:
    """One private chat's menu, in the language its citizen chose with /language."""
    await bot.set_my_commands(localized_commands(locale), scope=BotCommandScopeChat(chat_id))
