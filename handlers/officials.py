"""Officials join their agency through an invite deep link (?start=join_<token>)."""

from __future__ import annotations

import contextlib
import logging
from html import escape

from telegram import Message, Update
from telegram.error import TelegramError

from bot.catalog.commitments import localized
from bot.channels.buttons import parse_answer_button, parse_fix_button
from bot.channels.cards import build_official_card
from bot.core.services import BotContext
from bot.i18n.translate import _, current_locale
from bot.reports import answers, fix_check
from bot.reports.answers import NotAnOfficial
from bot.reports.fix_check import NotYourReport
from bot.reports.lifecycle import Actor, ActorKind, status_label
from bot.reports.moderation import AlreadyDone, ReportNotFound
from bot.roles.officials import InviteStatus, redeem_invite
from handlers.moderation import already_text
from handlers.replies import answer_callback

log = logging.getLogger(__name__)


async def join_agency(update: Update, context: BotContext, token: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    result = await redeem_invite(services.db, token, user.id, services.clock(), current_locale())
    match result.status:
        case InviteStatus.JOINED:
            name = localized(
                result.agency_names or {}, current_locale(), services.settings.default_locale
            )
            text = _(
                "Welcome! You are now an official of {agency}. Approved reports about its "
                "commitments will reach you here."
            ).format(agency=f"<b>{escape(name or result.agency_code or '')}</b>")
        case InviteStatus.ALREADY_USED:
            text = _(
                "This invitation link was already used. Each link works once; please ask the "
                "administrator for a new one."
            )
        case InviteStatus.EXPIRED:
            text = _(
                "This invitation link has expired. Please ask the administrator for a new one."
            )
        case _:
            text = _("This invitation link is not valid. Please check that you copied all of it.")
    await context.bot.send_message(chat.id, text)


async def on_answer_button(update: Update, context: BotContext) -> None:
    """An official answers a report from its card: acknowledged, in progress, resolved..."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    button = parse_answer_button(query.data)
    if button is None:
        await answer_callback(query, _("This button is no longer valid."))
        return
    try:
        report = await answers.answer(
            context.services,
            button.key,
            button.action,
            Actor(ActorKind.OFFICIAL, user.id, user.first_name),
        )
    except NotAnOfficial:
        log.warning(
            "refused answer %r on report %s from user %s: not its agency's official",
            button.action,
            button.key,
            user.id,
        )
        await answer_callback(
            query, _("Only officials of the agency responsible can answer this report.")
        )
        return
    except AlreadyDone as already:
        await answer_callback(query, already_text(already))
        return
    except (ReportNotFound, ValueError):
        await answer_callback(query, _("This button is no longer valid."))
        return
    await answer_callback(
        query,
        _("Thank you. {reference} is now: {status}.").format(
            reference=report.reference, status=status_label(report.status)
        ),
    )
    card = await build_official_card(context.services, report.id, current_locale())
    if card is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(card.text, reply_markup=card.markup)
        except TelegramError:
            log.debug("could not redraw the official's card", exc_info=True)


async def on_fix_button(update: Update, context: BotContext) -> None:
    """The author answers "is it really fixed?"; "no" reopens the report."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    button = parse_fix_button(query.data)
    if button is None or button.action not in ("yes", "no"):
        await answer_callback(query, _("This button is no longer valid."))
        return
    try:
        report = await fix_check.answer(
            context.services, button.key, user.id, button.action == "yes"
        )
    except NotYourReport:
        log.warning(
            "refused fix answer on report %s from user %s: not the author", button.key, user.id
        )
        await answer_callback(query, _("Only the author of this report can answer."))
        return
    except AlreadyDone as already:
        await answer_callback(query, already_text(already))
        return
    except ReportNotFound:
        await answer_callback(query, _("This button is no longer valid."))
        return
    await answer_callback(query)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramError):
            await query.message.edit_reply_markup(reply_markup=None)
    if button.action == "yes":
        text = _("🎉 Thank you for checking: report {reference} stays resolved.")
    else:
        text = _(
            "Thank you for telling us. Report {reference} is reopened and goes back to the "
            "agency; I will tell you what they answer."
        )
    await context.bot.send_message(user.id, text.format(reference=report.reference))
