"""Citizen commands: /start (with deep links), /report, /project, /cancel, /help, /myreports,
/status, and a friendly answer to commands we do not know."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.app.command_menu import CITIZEN_COMMANDS
from bot.catalog import commitments as catalog
from bot.catalog.deeplinks import parse_start_payload
from bot.channels.buttons import Prefix, parse_page
from bot.core.services import BotContext
from bot.i18n.formatting import format_coordinates, format_datetime
from bot.i18n.translate import _, current_locale, ngettext
from bot.reports import drafting, my_reports
from bot.reports.drafting import DraftView
from bot.reports.lifecycle import status_label
from bot.reports.references import normalize_reference
from handlers import keyboards
from handlers.officials import join_agency
from handlers.prompts import help_text
from handlers.replies import (
    acknowledge,
    answer_callback,
    ask_to_discard,
    explain_draft_error,
    send_privacy_notice,
    send_prompt,
    warn_if_daily_limit,
)
from handlers.safe_edit import Edit, edit_text


async def start(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    parsed = parse_start_payload(payload) if payload else None
    if parsed is not None and parsed.kind == "join":
        await join_agency(update, context, parsed.value)
        return
    code = parsed.value if parsed is not None and parsed.kind == "commitment" else None
    if parsed is None:
        await begin_report(update, context, None, welcome=True)
    else:
        await begin_report(update, context, code, welcome=True)


async def report(update: Update, context: BotContext) -> None:
    await begin_report(update, context, None)


async def project(update: Update, context: BotContext) -> None:
    if not context.args:
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_message(
            chat.id, _("Send the code after the command, for example: /project KAD-RD-017")
        )
        return
    await begin_report(update, context, " ".join(context.args))


async def begin_report(
    update: Update, context: BotContext, code: str | None, *, welcome: bool = False
) -> None:
    """Start (or resume) a report, on a commitment if a code was given."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    commitment = await catalog.find_by_code(context.services, code) if code else None
    unknown_code = code is not None and commitment is None
    greeting = (
        _(
            "👋 Welcome to Commitment Watch. Tell us how public commitments are going where you live."
        )
        if welcome and not unknown_code
        else None
    )
    if unknown_code:
        await context.bot.send_message(
            chat.id,
            _("I do not know the commitment «{code}». Let's search for it instead.").format(
                code=escape(code or "")
            ),
        )
    state = context.citizen_state or await drafting.state(context.services, user.id)
    if not state.consented:
        # First contact: the greeting and the privacy notice in one message.
        await send_privacy_notice(
            context, chat.id, commitment.id if commitment else None, greeting=greeting
        )
        return
    if state.blocked:  # their draft, if any, is kept as it is
        await explain_draft_error(context, chat.id, drafting.SenderBlocked())
        return
    if greeting:
        await context.bot.send_message(chat.id, greeting)
    try:
        view, resumed = await drafting.begin(
            context.services, user.id, chat.id, commitment.id if commitment else None
        )
    except drafting.SenderBlocked as blocked:  # blocked since the update's start
        await explain_draft_error(context, chat.id, blocked)
        return
    if resumed:
        await context.bot.send_message(
            chat.id,
            _(
                "You have a report in progress; let's continue it. To start over, send /cancel first."
            ),
        )
    await warn_if_daily_limit(context, chat.id, user.id)
    await send_prompt(context, chat.id, view)


async def cancel(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    view = await drafting.current(context.services, user.id)
    if view is not None and view.holds_work:
        await ask_to_discard(context, chat.id, view)  # the buttons carry on (handlers/flow.py)
        return
    if await drafting.cancel(context.services, user.id):
        await acknowledge(context, chat.id, _("Your report was cancelled; nothing was sent."))
    else:
        await acknowledge(context, chat.id, _("There is no report in progress to cancel."))


async def help_command(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    view: DraftView | None = await drafting.current(context.services, user.id)
    await context.bot.send_message(chat.id, help_text(view.step if view else None))


async def myreports(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    await _send_report_page(update, context, 0, edit=False)


async def myreports_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_callback(query)
    await _send_report_page(update, context, parse_page(query.data), edit=True)


async def _send_report_page(update: Update, context: BotContext, page: int, *, edit: bool) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    result = await my_reports.list_reports(context.services, user.id, page, current_locale())
    if result.total == 0:
        await context.bot.send_message(
            chat.id, _("You have not sent any report yet. Send /report to start one.")
        )
        return
    tz = context.services.settings.timezone
    lines = [_report_page_heading(result)]
    for line in result.lines:
        if line.supported_at is None:
            when = escape(format_datetime(line.created_at, tz))
        else:
            when = _("👍 supported by you since {date}").format(
                date=escape(format_datetime(line.supported_at, tz))
            )
        lines.append(
            f"\n<code>{line.reference}</code> · {escape(line.commitment_title)}\n"
            f"{escape(status_label(line.status))} · {when}"
        )
    if result.pages > 1:
        lines.append(
            "\n" + _("Page {page} of {pages}").format(page=result.page + 1, pages=result.pages)
        )
    text = "\n".join(lines)
    markup = keyboards.page_keyboard(Prefix.MY_REPORTS_PAGE, result.page, result.pages)
    # The page pressed may be the one shown (not modified) or too old to edit (sent anew).
    query = update.callback_query if edit else None
    if query and await edit_text(query.message, text, markup) is not Edit.GONE:
        return
    await context.bot.send_message(chat.id, text, reply_markup=markup)


def _report_page_heading(result: my_reports.ReportPage) -> str:
    sent = ngettext("You have sent {n} report:", "You have sent {n} reports:", result.sent).format(
        n=result.sent
    )
    if not result.supported:
        return sent
    supporting = ngettext(
        "You support {n} report:", "You support {n} reports:", result.supported
    ).format(n=result.supported)
    if not result.sent:
        return supporting
    return (
        ngettext("You have sent {n} report.", "You have sent {n} reports.", result.sent).format(
            n=result.sent
        )
        + "\n"
        + ngettext(
            "You also support {n} report:", "You also support {n} reports:", result.supported
        ).format(n=result.supported)
    )


async def status(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if not context.args:
        await context.bot.send_message(
            chat.id, _("Send the reference after the command, for example: /status CW-7K3F9Q")
        )
        return
    typed = " ".join(context.args)
    reference = normalize_reference(typed)
    if reference is None:
        await context.bot.send_message(
            chat.id,
            _("«{typed}» is not a report reference; they look like CW-7K3F9Q.").format(
                typed=escape(typed[:40])
            ),
        )
        return
    detail = await my_reports.report_detail(context.services, user.id, reference, current_locale())
    if detail is None:
        await context.bot.send_message(
            chat.id,
            _(
                "None of your reports has the reference {reference}. See them all with /myreports."
            ).format(reference=reference),
        )
        return
    tz = context.services.settings.timezone
    parts = [
        f"<b>{detail.line.reference}</b> · {escape(detail.line.commitment_title)}",
        _("Status: {status}").format(status=escape(status_label(detail.line.status))),
    ]
    if detail.line.supported_at is not None:  # someone else's report: shown as the public sees it
        parts.append(
            _("👍 supported by you since {date}").format(
                date=escape(format_datetime(detail.line.supported_at, tz))
            )
        )
    if detail.text:
        parts.append(f"<blockquote>{escape(detail.text)}</blockquote>")
    elif detail.has_voice:
        parts.append(_("🎤 Voice note"))
    if detail.latitude is not None and detail.longitude is not None:
        parts.append("📍 " + format_coordinates(detail.latitude, detail.longitude))
    if detail.photo_count:
        parts.append(
            ngettext("{n} photo", "{n} photos", detail.photo_count).format(n=detail.photo_count)
        )
    parts.append("\n<b>" + _("History") + "</b>")
    for event in detail.history:
        what = status_label(event.to_status)
        if event.action == "purged":
            # Translators: in a report's history; retention deleted a rejected report's content.
            what = _("its text, photos and voice note were deleted")
        parts.append(
            f"{escape(format_datetime(event.created_at, tz))}: {escape(what)}"
            + (f" ({escape(event.note)})" if event.note else "")
        )
    await context.bot.send_message(chat.id, "\n".join(parts))


async def unknown_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    lines = [_("I do not know that command. These are the ones I know:")]
    lines += [f"/{command}: {escape(_(description))}" for command, description in CITIZEN_COMMANDS]
    await context.bot.send_message(chat.id, "\n".join(lines))
