"""The reference point: the plainest python-telegram-bot echo bot, no database, no i18n.

Run by the benchmarks with ECHO_TOKEN and ECHO_BASE_URL pointing at the emulator.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(message.text or "ok")


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ["ECHO_BASE_URL"])
        .concurrent_updates(256)
        # The same HTTP pool settings as Commitment Watch's, so only the work per update differs.
        .connection_pool_size(64)
        .pool_timeout(30.0)
        .get_updates_connection_pool_size(2)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
