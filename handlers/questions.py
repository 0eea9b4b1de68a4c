"""Two moments where a citizen meets other reports: a moderator's question about their own, and
an open report on the same spot that they can support instead of writing a new one."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.channels.buttons import draft_button
from bot.core.services import BotContext
from bot.i18n.formatting import format_distance
from bot.i18n.translate import _
from bot.reports import drafting, moderation
from bot.reports.drafting import DraftView


async def answer_moderator_question(update: Update, context: BotContext) -> bool:
    """If this text answers an open question (a reply to it, or any text while no report is in
    progress), attach it to the report and say so. False: the message is something else."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    state = context.citizen_state
    if state is None or not state.consented:
        return False
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if replied is None and state.draft is not None:
        return False  # a draft in progress takes plain text
    reference = await moderation.answer(context.services, user.id, replied, message.text or "")
    if reference is None:
        return False
    await context.bot.send_message(
        message.chat_id,
        _("💬 Thank you: your answer was added to report {reference} for the moderators.").format(
            reference=reference
        ),
    )
    return True


async def offer_nearby_reports(
    context: BotContext, chat_id: int, user_id: int, view: DraftView
) -> bool:
    """Offer other citizens' open reports on the same commitment close to the location just
    shared (never the citizen's own)."""
    nearby = await drafting.possible_duplicates(context.services, user_id, view)
    if not nearby:
        return False
    lines = [
        _("Someone already reported this here. Add your voice, or continue if yours is different:")
    ]
    rows = []
    for report in nearby:
        lines.append(
            f"• <b>{report.reference}</b> ({escape(format_distance(report.distance_m))}): "
            f"{escape(report.preview)}"
        )
        rows.append(
            [
                InlineKeyboardButton(
                    _("👍 Add my voice to {reference}").format(reference=report.reference),
                    callback_data=draft_button(view.version, "sp", report.report_id),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                _("➡️ Mine is different"), callback_data=draft_button(view.version, "nd")
            )
        ]
    )
    await context.bot.send_message(
        chat_id, "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows)
    )
    return True
