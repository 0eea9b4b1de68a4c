"""Sending the next prompt, and turning a citizen's mistake into a polite answer."""

from __future__ import annotations

import logging
from html import escape

from telegram import CallbackQuery, ReplyKeyboardRemove
from telegram.error import BadRequest

from bot.app.inbox import handling_again
from bot.citizens import blocking
from bot.core.services import BotContext
from bot.i18n.formatting import format_datetime, format_number
from bot.i18n.translate import _, ngettext
from bot.reports import daily_limit, drafting
from bot.reports.drafting import MAX_PHOTOS, MAX_TEXT, MIN_TEXT, DraftView
from handlers import keyboards
from handlers.prompts import discard_question, privacy_notice, prompt_for, step_hint

log = logging.getLogger(__name__)


async def answer_callback(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Stop the button's spinner; a repeated delivery of the same press is answered already."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest:
        log.debug("callback query %s was already answered", query.id)


async def send_prompt(
    context: BotContext, chat_id: int, view: DraftView, *, prefix: str | None = None
) -> None:
    text, markup = await prompt_for(context.services, view)
    if prefix:
        text = f"{prefix}\n\n{text}"
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def ask_to_discard(context: BotContext, chat_id: int, view: DraftView) -> None:
    """Before /cancel or ✖️ Cancel throws away the citizen's work: are you sure?"""
    await context.bot.send_message(
        chat_id, discard_question(view), reply_markup=keyboards.discard_keyboard(view)
    )


async def send_privacy_notice(
    context: BotContext, chat_id: int, commitment_id: int | None, greeting: str | None = None
) -> None:
    text = (
        f"{greeting}\n\n{privacy_notice(context.services.settings)}"
        if greeting
        else privacy_notice(context.services.settings)
    )
    await context.bot.send_message(
        chat_id, text, reply_markup=keyboards.consent_keyboard(commitment_id)
    )


def receipt(reference: str) -> str:
    """What a citizen reads once their report is sent."""
    return _(
        "✅ Thank you! Your report was received.\n\n"
        "Reference: <code>{reference}</code>\n\n"
        "Moderators will review it, and I will tell you every time its status "
        "changes. See it any time with /status {reference}."
    ).format(reference=reference)


async def acknowledge(context: BotContext, chat_id: int, text: str) -> None:
    """A short confirmation that also takes away any reply keyboard still showing."""
    await context.bot.send_message(chat_id, text, reply_markup=ReplyKeyboardRemove())


def _support_refused(reason: drafting.SupportRefusal, reference: str | None) -> str:
    """Why "add my voice" recorded nothing, said truthfully; the draft goes on."""
    ref = f"<code>{escape(reference or '?')}</code>"
    match reason:
        case drafting.SupportRefusal.OWN:
            why = _("{reference} is your own report, so no voice was added to it.")
        case drafting.SupportRefusal.ALREADY:
            why = _("You already support {reference}; nothing changed.")
        case drafting.SupportRefusal.CLOSED:
            why = _("{reference} is no longer open, so your voice could not be added.")
        case _:
            why = _("That report is no longer there, so your voice could not be added.")
    kept = _("Your new report is kept as you wrote it; carry on below, or /cancel.")
    return why.format(reference=ref) + "\n\n" + kept


def outside_region_text(context: BotContext) -> str:
    """The refusal of a location outside REGION_BOUNDS, naming the region in words."""
    region = context.services.settings.region_name
    if region:
        # Translators: {region} is the deployment's region as configured, e.g. "Kaduna State".
        return _(
            "This location is outside {region}, where this service runs. Please send a "
            "location inside it."
        ).format(region=escape(region))
    return _(
        "This location is outside the area this service covers. Please send a location inside it."
    )


def _limit_reached(context: BotContext, reached: daily_limit.DailyLimit, *, at_send: bool) -> str:
    """REPORTS_PER_DAY reached: said when a report starts (a warning) and at Send (a refusal)."""
    when = format_datetime(reached.again_at, context.services.settings.timezone)
    n = reached.limit
    if at_send:
        # Translators: {n} is REPORTS_PER_DAY (10); {when} a date and time, e.g. "Dec 4, 2026,
        # 3:30 PM"; {send} the summary's button.
        text = ngettext(
            "You can send {n} report in 24 hours, and you have sent it. Your report is kept: "
            "you can send it from {when} with «{send}», or send /report then to see it again.",
            "You can send {n} reports in 24 hours, and you have sent them. Your report is kept: "
            "you can send it from {when} with «{send}», or send /report then to see it again.",
            n,
        )
    else:
        # Translators: said when a citizen at the day's limit starts a report; {n}, {when} as
        # in "You can send {n} reports in 24 hours... Your report is kept".
        text = ngettext(
            "You can send {n} report in 24 hours, and you have sent it. You can write this one "
            "now: I will keep it, and you can send it from {when}.",
            "You can send {n} reports in 24 hours, and you have sent them. You can write this one "
            "now: I will keep it, and you can send it from {when}.",
            n,
        )
    return text.format(n=format_number(n), when=escape(when), send=escape(keyboards.send_label()))


async def warn_if_daily_limit(context: BotContext, chat_id: int, user_id: int) -> None:
    """When a report starts (or resumes): tell a citizen at REPORTS_PER_DAY when it can go."""
    reached = await daily_limit.reached(context.services, user_id)
    if reached is not None:
        await context.bot.send_message(chat_id, _limit_reached(context, reached, at_send=False))


async def explain_draft_error(
    context: BotContext, chat_id: int, error: drafting.DraftError
) -> None:
    """Tell the citizen, in their language, what went wrong and what to do now."""
    send = context.bot.send_message
    match error:
        case drafting.NoConsent():
            await send_privacy_notice(context, chat_id, None)
        case drafting.NoDraft():
            await send(chat_id, _("You have no report in progress. Send /report to start one."))
        case drafting.AlreadySent(reference=reference) if handling_again.get() and reference:
            # The confirmation ran before its worker died: the receipt may never have come.
            await send(chat_id, receipt(reference))
        case drafting.AlreadySent(reference=reference):
            await send(
                chat_id,
                _(
                    "This report was already sent (reference {reference}). Send /report to start a new one."
                ).format(reference=f"<code>{escape(reference or '?')}</code>"),
            )
        case drafting.StaleButton(view=view):
            if not handling_again.get():
                await send(
                    chat_id, _("That button is out of date. Here is where your report stands:")
                )
            # Handled again after a worker died: the press took effect before, so the citizen
            # only needs the question it led to (which may never have reached them).
            await send_prompt(context, chat_id, view)
        case drafting.WrongStep(view=view) | drafting.Incomplete(view=view):
            if not handling_again.get():  # a second run: the step it answered is done already
                await send(chat_id, step_hint(view.step))
            await send_prompt(context, chat_id, view)
        case drafting.TextTooShort():
            await send(
                chat_id,
                ngettext(
                    "That is a bit short. Please describe it in at least {min} character.",
                    "That is a bit short. Please describe it in at least {min} characters.",
                    MIN_TEXT,
                ).format(min=format_number(MIN_TEXT)),
            )
        case drafting.TextWithoutWords():
            await send(
                chat_id,
                _(
                    "Please describe it in a few words: emoji and symbols alone do not tell "
                    "the moderators and the agency what you see."
                ),
            )
        case drafting.TextTooLong(length=length):
            await send(
                chat_id,
                ngettext(
                    "Your text has {length} character; a report can hold {max}. Please shorten "
                    "it and send it again. Nothing was cut.",
                    "Your text has {length} characters; a report can hold {max}. Please shorten "
                    "it and send it again. Nothing was cut.",
                    length,
                ).format(length=format_number(length), max=format_number(MAX_TEXT)),
            )
        case drafting.LocationImpossible():
            await send(
                chat_id,
                _("These coordinates are not a place on Earth. Please share your location again."),
                reply_markup=keyboards.location_keyboard(),
            )
        case drafting.LocationOutsideRegion():
            await send(
                chat_id,
                outside_region_text(context),
                reply_markup=keyboards.location_keyboard(),
            )
        case drafting.TooManyPhotos(view=view):
            await send(
                chat_id,
                ngettext(
                    "A report can hold {n} photo, and you have added it. This one was not "
                    "added. Press «{done}» to continue.",
                    "A report can hold {n} photos, and you have added them all. This one was not "
                    "added. Press «{done}» to continue.",
                    MAX_PHOTOS,
                ).format(n=MAX_PHOTOS, done=escape(keyboards.photos_done_label())),
                reply_markup=keyboards.photos_keyboard(view),
            )
        case drafting.DailyLimitReached(reached=reached):
            await send(chat_id, _limit_reached(context, reached, at_send=True))
        case drafting.DuplicatePhoto():
            await send(chat_id, _("You already added this photo."))
        case drafting.CannotSupport(reason=reason, reference=reference, view=view):
            await send(chat_id, _support_refused(reason, reference))
            await send_prompt(context, chat_id, view)
        case drafting.UnknownCommitment():
            await send(
                chat_id, _("That commitment is not in the catalog any more. Please choose another.")
            )
        case drafting.SenderBlocked():
            await acknowledge(context, chat_id, blocking.not_accepted_text())
        case _:
            raise error
