"""/digest: an official asks for their agency's current digest and gets it right away."""

from __future__ import annotations

from telegram import Update

from bot.core.services import BotContext
from bot.digests.delivery import current_digests, send_digest
from bot.i18n.translate import _, current_locale


async def digest_command(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    digests = await current_digests(context.services, user.id, current_locale())
    if not digests:
        await context.bot.send_message(
            chat.id,
            _(
                "Sorry, /digest is for officials of an agency. If you work for one, please ask "
                "the administrator for an invitation link."
            ),
        )
        return
    for digest in digests:  # one per agency the official answers for
        await send_digest(context.bot, chat.id, digest)
