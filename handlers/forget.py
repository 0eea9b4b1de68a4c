"""/forget: a citizen erases their data, keeping their reports anonymously or withdrawing them.

Two steps on one message: the choice (which says what each option does), then "are you sure?".
The buttons carry the id of the citizen they were drawn for: a press after the erasure, or on a
message drawn for an earlier registration of the same person, erases nothing.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.channels.buttons import FORGET_CHOICES, forget_button, parse_forget_button
from bot.citizens import erasure
from bot.core.services import BotContext
from bot.i18n.translate import _, ngettext
from handlers.replies import answer_callback
from handlers.safe_edit import Edit, edit_text

log = logging.getLogger(__name__)


def choice_text() -> str:
    return "\n\n".join(
        [
            _("🗑 <b>Erase your data</b>"),
            _(
                "Either way I delete your Telegram account's id, your language, your consent, "
                "your report in progress and the moderators' questions to you, and cancel the "
                "messages still waiting for you. Nothing left links you to your reports or to "
                "the reports you support. Next time you write, I treat you as someone new."
            ),
            _(
                "• <b>Keep my published reports anonymously</b>: your reports stay public "
                "record (those under review are still reviewed), with no name. Reports that "
                "were not published lose their text, photos and place."
            ),
            _(
                "• <b>Withdraw my reports</b>: each report of yours that is not closed yet is "
                "withdrawn: it leaves the public record, its text, photos and place are "
                "deleted, and the moderators and the agency are told it was withdrawn. Reports "
                "already merged into another one stay there, with no name."
            ),
            _(
                "Your support (“me too”) for other reports still counts, with no name. Neither "
                "choice can be undone; I ask once more before erasing."
            ),
        ]
    )


def choice_keyboard(citizen_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    # Translators: a button; the choice explained in the message above it.
                    _("Erase me, keep my published reports anonymously"),
                    callback_data=forget_button(citizen_id, "keep"),
                )
            ],
            [
                InlineKeyboardButton(
                    # Translators: a button; the choice explained in the message above it.
                    _("Erase me and withdraw my reports"),
                    callback_data=forget_button(citizen_id, "withdraw"),
                )
            ],
            [InlineKeyboardButton(_("Cancel"), callback_data=forget_button(citizen_id, "no"))],
        ]
    )


def confirm_text(choice: str) -> str:
    if choice == "withdraw":
        what = _(
            "I will erase everything about you and withdraw your reports that are not closed yet."
        )
    else:
        what = _(
            "I will erase everything about you and keep your published reports as anonymous "
            "public record."
        )
    return what + "\n\n" + _("<b>Are you sure? This cannot be undone.</b>")


def confirm_keyboard(citizen_id: int, choice: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Yes, erase me"), callback_data=forget_button(citizen_id, "ok", choice)
                ),
                InlineKeyboardButton(_("Cancel"), callback_data=forget_button(citizen_id, "no")),
            ]
        ]
    )


def done_text(erased: erasure.Erased) -> str:
    lines = [_("Done: everything stored about you is erased.")]
    if erased.reports_withdrawn:
        lines.append(
            ngettext(
                "{n} report was withdrawn.", "{n} reports were withdrawn.", erased.reports_withdrawn
            ).format(n=erased.reports_withdrawn)
        )
    if erased.reports_kept:
        lines.append(
            ngettext(
                "{n} report stays, with no name.",
                "{n} reports stay, with no name.",
                erased.reports_kept,
            ).format(n=erased.reports_kept)
        )
    lines.append(_("Thank you for your reports. If you write again, you start as someone new."))
    return "\n".join(lines)


async def forget_command(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    citizen_id = await erasure.is_known(context.services, user.id)
    if citizen_id is None:
        await context.bot.send_message(
            chat.id, _("Nothing is stored about you, so there is nothing to erase.")
        )
        return
    await context.bot.send_message(chat.id, choice_text(), reply_markup=choice_keyboard(citizen_id))


async def on_forget_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    button = parse_forget_button(query.data)
    choice = button.argument if button is not None else ""
    if button is None or (button.action == "ok") != (choice in FORGET_CHOICES):
        await answer_callback(query, _("This button is no longer valid."))
        return
    citizen_id = await erasure.is_known(context.services, user.id)
    if citizen_id is None:
        await answer_callback(query, _("Your data was already erased; there is nothing left."))
        await _show(update, context, _("Your data was already erased."), None)
        return
    if citizen_id != button.key:
        log.info("refused a /forget button drawn for citizen %s from another", button.key)
        await answer_callback(query, _("This button is no longer valid."))
        return
    match button.action:
        case "no":
            await answer_callback(query)
            await _show(update, context, _("Nothing was erased."), None)
        case "ok":
            erased = await erasure.erase(context.services, user.id, withdraw=choice == "withdraw")
            await answer_callback(query)
            if erased is None:  # erased meanwhile, by a second press or the admin
                await _show(update, context, _("Your data was already erased."), None)
                return
            await _show(update, context, done_text(erased), None)
        case _:
            await answer_callback(query)
            text, markup = confirm_text(button.action), confirm_keyboard(citizen_id, button.action)
            await _show(update, context, text, markup)


async def _show(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the /forget message (or send anew when it can no longer be edited)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    message = query.message
    if isinstance(message, Message) and await edit_text(message, text, markup) is not Edit.GONE:
        return
    await context.bot.send_message(user.id, text, reply_markup=markup)
