"""The command menu, in every language we have a catalog for."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.ext import ExtBot

from bot.i18n.translate import N_, _, available_locales, use_locale

# (command, description). Descriptions are translated per language when the menu is set.
CITIZEN_COMMANDS: tuple[tuple[str, str], ...] = (
    # Translators: this and the next five are shown in Telegram's command menu (3 to 256
    # characters each).
    ("report", N_("Report on a public commitment")),
    ("myreports", N_("Your reports and their status")),
    ("status", N_("Status of one report: /status REFERENCE")),
    ("cancel", N_("Stop the report you are writing")),
    ("help", N_("How this bot works")),
    ("language", N_("Choose your language")),
)


def localized_commands(locale: str) -> list[BotCommand]:
    with use_locale(locale):
        return [BotCommand(command, _(description)) for command, description in CITIZEN_COMMANDS]


async def publish_command_menu(bot: ExtBot, default_locale: str) -> None:
    """Set the menu for private chats: one per language, and the default for everyone else."""
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(localized_commands(default_locale), scope=scope)
    for locale in available_locales():
        await bot.set_my_commands(localized_commands(locale), scope=scope, language_code=locale)


async def publish_chat_menu(bot: ExtBot, chat_id: int, locale: str) -> None:
    """One private chat's menu, in the language its citizen chose with /language."""
    await bot.set_my_commands(localized_commands(locale), scope=BotCommandScopeChat(chat_id))
