"""The staff group: buttons on moderation cards, moderators' replies to the bot's prompts, /queue.

Every action checks that the person is a moderator, whatever chat the button came from and
whatever its data says; anything else changes nothing and is logged. A press on an older copy of
a card (posted again after a crash, or by /queue) acts on the report as it is now, on the current
card, and takes the old copy's buttons away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape

from babel.dates import format_timedelta
from telegram import ForceReply, MaybeInaccessibleMessage, Message, Update, User
from telegram.error import TelegramError

from bot.channels.buttons import int_argument, parse_card_button
from bot.channels.cards import build_card, edit_card
from bot.citizens import blocking
from bot.core.services import BotContext
from bot.i18n.formatting import format_number
from bot.i18n.translate import _, current_locale, ngettext, use_locale
from bot.reports import moderation
from bot.reports.flags import mask_personal_data
from bot.reports.lifecycle import Actor, ActorKind, status_label
from bot.roles.moderators import is_moderator
from handlers.replies import answer_callback
from handlers.safe_edit import edit_caption, edit_text

log = logging.getLogger(__name__)

QUEUE_CARDS = 3
PROMPT_ACTIONS = {"mm": "merge", "mv": "move", "rd": "redact", "ask": "ask", "bo": "block"}


def _actor(user: User) -> Actor:
    # Staff see each other's first names on cards; citizens never see who moderated.
    return Actor(ActorKind.MODERATOR, user.id, user.first_name)


async def _refuse(update: Update, context: BotContext, what: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    log.warning(
        "refused %s from user %s in chat %s: not a moderator",
        what,
        user.id if user else None,
        chat.id if chat else None,
    )


async def on_card_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    button = parse_card_button(query.data)
    if button is None:
        await answer_callback(query, _("This button is no longer valid."))
        return
    if not await is_moderator(context.services, context.bot, user.id):
        await _refuse(update, context, f"card action {button.action!r}")
        await answer_callback(query, _("Only moderators can do this."))
        return
    actor = _actor(user)
    report_id = button.report_id
    card = await _current_card(context, query.message, report_id)
    try:
        match button.action:
            case "ok":
                done = await moderation.approve(context.services, report_id, actor)
                await answer_callback(
                    query, _("✅ {reference} approved.").format(reference=done.reference)
                )
            case "rr":
                done = await moderation.reject(context.services, report_id, button.argument, actor)
                await answer_callback(
                    query, _("🚫 {reference} rejected.").format(reference=done.reference)
                )
            case "mt":
                target_id = int_argument(button)
                if target_id is None:  # forged: "²" passes isdigit() but not int()
                    raise moderation.MergeTargetInvalid(button.argument)
                done = await moderation.merge(context.services, report_id, target_id, actor)
                await answer_callback(
                    query, _("🔁 {reference} merged.").format(reference=done.reference)
                )
            case "br":
                if button.argument not in blocking.BLOCK_REASONS:  # forged: typed ones are replies
                    raise moderation.UnknownReason(button.argument)
                done = await blocking.block_sender(
                    context.services, report_id, button.argument, actor
                )
                await answer_callback(query, _blocked_text(done))
            case "ub":
                done = await blocking.unblock_sender(context.services, report_id, actor)
                await answer_callback(
                    query,
                    _("↩️ The sender of {reference} can send new reports again.").format(
                        reference=done.reference
                    ),
                )
            case "ph" | "ps":  # hide the photos from the public, or show them again
                hidden = button.action == "ph"
                done = await moderation.set_photos_hidden(
                    context.services, report_id, hidden, actor
                )
                await answer_callback(query, _photos_text(done, hidden))
            case "bl":
                if await moderation.texts_of(context.services, report_id) is None:
                    raise moderation.ReportNotFound()  # forged: no menu for a report not there
                await answer_callback(query, _superseded_text() if card.superseded else None)
                await _show_menu(context, card, report_id, "block")
            case "rj" | "mg" | "bk":
                menu = {"rj": "reject", "mg": "merge", "bk": "main"}[button.action]
                await answer_callback(query, _superseded_text() if card.superseded else None)
                await _show_menu(context, card, report_id, menu)
            case action if action in PROMPT_ACTIONS:
                await answer_callback(query, _superseded_text() if card.superseded else None)
                await _prompt(context, query.message, user, report_id, PROMPT_ACTIONS[action])
            case _:
                await answer_callback(query, _("This button is no longer valid."))
    except moderation.AlreadyDone as already:
        await answer_callback(query, already_text(already))
        if card.superseded:  # the old copy showed a state that has moved on: show the current
            await _show_menu(context, card, report_id, "main")
    except (blocking.AlreadyBlocked, blocking.NotBlocked, moderation.PhotosAlreadyThere) as already:
        await answer_callback(query, _error_text(already))
        await _show_menu(context, card, report_id, "main")  # the card shows how it is now
    except moderation.ModerationError as error:
        await answer_callback(query, _error_text(error))
    if card.superseded:
        await _retire_copy(context, query.message, card, report_id)


@dataclass(frozen=True)
class _CardPressed:
    """The copy of the card that should answer a press: (chat, message) of the current card,
    and whether the press came from an older copy (posted again after a crash, or by /queue)."""

    chat_id: int
    message_id: int
    superseded: bool


async def _current_card(
    context: BotContext, pressed: MaybeInaccessibleMessage | None, report_id: int
) -> _CardPressed:
    services = context.services
    current = await moderation.card_location(services, report_id)
    if not _shows_report(pressed, report_id):  # gone, or forged data on another message
        return _CardPressed(*(current or (0, 0)), superseded=False)
    assert pressed is not None
    here = (pressed.chat.id, pressed.message_id)
    if current is None:
        # Posted, but the bot died before it could record where: this copy is the card now,
        # so the outbox's retry redraws it instead of posting another.
        caption = isinstance(pressed, Message) and bool(pressed.photo)
        await moderation.card_posted(services, report_id, *here, caption=caption)
        return _CardPressed(*here, superseded=False)
    return _CardPressed(*current, superseded=current != here)


def _shows_report(pressed: MaybeInaccessibleMessage | None, report_id: int) -> bool:
    """The pressed message is a card of this report: its own buttons say so (callback data
    can be forged; the buttons Telegram keeps on the message cannot)."""
    if not isinstance(pressed, Message) or pressed.reply_markup is None:
        return False
    for row in pressed.reply_markup.inline_keyboard:
        for key in row:
            data = key.callback_data if isinstance(key.callback_data, str) else None
            button = parse_card_button(data) if data else None
            if button is not None and button.report_id == report_id:
                return True
    return False


def _superseded_text() -> str:
    return _("That was an older copy of this card; the current one is below.")


async def _show_menu(context: BotContext, card: _CardPressed, report_id: int, menu: str) -> None:
    """Draw the menu on the current card (the one pressed, or the newer copy of it)."""
    drawn = await build_card(context.services, report_id, menu)
    if drawn is None or not card.message_id:
        return
    try:
        await edit_card(context.bot, card.chat_id, card.message_id, drawn)
    except TelegramError:
        log.debug("could not switch the card's menu", exc_info=True)


async def _retire_copy(
    context: BotContext,
    pressed: MaybeInaccessibleMessage | None,
    card: _CardPressed,
    report_id: int,
) -> None:
    """An older copy was pressed: it shows the report as it is now, without buttons, and says
    where the card is; the current card, redrawn, carries on."""
    with use_locale(context.services.settings.staff_locale):
        note = _("⤵️ This copy is out of date: the card was posted again, use the newer one.")
    if isinstance(pressed, Message) and pressed.photo:  # a card that is a photo's caption
        drawn = await build_card(context.services, report_id, caption=True, footer=f"\n{note}")
        if drawn is not None:
            await edit_caption(pressed, drawn.text)
        return
    drawn = await build_card(context.services, report_id, caption=False)
    if drawn is None:
        return
    await edit_text(pressed, f"{drawn.text}\n\n{note}")


async def _prompt(
    context: BotContext, message: object, user: User, report_id: int, action: str
) -> None:
    """Ask the moderator to reply with text: the public version, a code, a reference, a question."""
    if not isinstance(message, Message):
        return
    services = context.services
    found = await moderation.texts_of(services, report_id)
    if found is None:
        return
    reference, public_text = found
    name = escape(user.first_name)
    with use_locale(services.settings.staff_locale):
        if action == "redact":
            suggestion = mask_personal_data(public_text or "")
            text = _(
                "✏️ {name}, reply to this message with the public text of {reference}. "
                "A version with personal data masked:\n<code>{suggestion}</code>"
            ).format(name=name, reference=reference, suggestion=escape(suggestion))
        elif action == "move":
            text = _(
                "📂 {name}, reply to this message with the code of the commitment {reference} is really about."
            ).format(name=name, reference=reference)
        elif action == "merge":
            text = _(
                "🔁 {name}, reply to this message with the reference of the report that {reference} repeats."
            ).format(name=name, reference=reference)
        elif action == "block":
            text = _(
                "🚷 {name}, reply to this message with why the sender of {reference} is blocked. "
                "Only staff see the reason."
            ).format(name=name, reference=reference)
        else:
            text = _(
                "❓ {name}, reply to this message with your question for the author of {reference}. "
                "They will not see who asked."
            ).format(name=name, reference=reference)
    sent = await context.bot.send_message(
        message.chat_id, text, reply_markup=ForceReply(selective=True)
    )
    await moderation.remember_prompt(
        services, message.chat_id, sent.message_id, report_id, action, user.id
    )


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A moderator's reply to one of the bot's prompts completes that action."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.reply_to_message is not None
    services = context.services
    prompt = await moderation.open_prompt(
        services, message.chat_id, message.reply_to_message.message_id
    )
    if prompt is None:
        return  # an ordinary conversation among staff
    prompt_id, report_id, action = prompt
    if not await is_moderator(services, context.bot, user.id):
        await _refuse(update, context, f"reply to a {action} prompt")
        return
    actor = _actor(user)
    text = message.text or ""
    try:
        if action == "redact":
            done = await moderation.redact(services, report_id, text, actor)
            reply = _("✏️ The public text of {reference} is updated.")
        elif action == "move":
            done = await moderation.move(services, report_id, text, actor)
            reply = _("📂 {reference} now belongs to the commitment {code}.")
        elif action == "merge":
            done = await moderation.merge(services, report_id, text, actor)
            reply = _("🔁 {reference} was merged.")
        elif action == "block":
            done = await blocking.block_sender(services, report_id, text, actor)
            reply = _blocked_text(done)
        else:
            done = await moderation.ask(services, report_id, text, actor)
            reply = _("❓ Your question about {reference} was sent to its author.")
        await moderation.close_prompt(services, prompt_id)
        await message.reply_text(reply.format(reference=done.reference, code=escape(text.strip())))
    except moderation.AlreadyDone as already:
        await message.reply_text(already_text(already))
    except moderation.ModerationError as error:
        await message.reply_text(_error_text(error))


async def queue(update: Update, context: BotContext) -> None:
    """/queue in the staff group: how much waits, since when, and the next cards again."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    services = context.services
    if not await is_moderator(services, context.bot, user.id):
        await _refuse(update, context, "/queue")
        return
    count, oldest, next_ids = await moderation.queue_state(services, QUEUE_CARDS)
    if count == 0:
        await context.bot.send_message(chat.id, _("🎉 No report is waiting for review."))
        return
    waited = format_timedelta(services.clock() - oldest, locale=current_locale()) if oldest else ""
    await context.bot.send_message(
        chat.id,
        ngettext(
            "{count} report waits for review; it has waited {waited}.",
            "{count} reports wait for review; the oldest has waited {waited}.",
            count,
        ).format(count=count, waited=waited),
    )
    for report_id in next_ids:
        card = await build_card(services, report_id, caption=False)  # a copy in full, as text
        if card is None:
            continue
        posted = await context.bot.send_message(chat.id, card.text, reply_markup=card.markup)
        # Later updates go to the copy moderators are looking at now.
        await moderation.card_posted(services, report_id, chat.id, posted.message_id)


def _blocked_text(done: moderation.Done) -> str:
    return _(
        "🚷 The sender of {reference} is blocked: no new reports are accepted from them."
    ).format(reference=done.reference)


def _photos_text(done: moderation.Done, hidden: bool) -> str:
    if hidden:
        return _("🙈 The photos of {reference} are hidden from the public.").format(
            reference=done.reference
        )
    return _("🖼 The photos of {reference} are public again.").format(reference=done.reference)


def already_text(already: moderation.AlreadyDone) -> str:
    status = status_label(already.status)
    if already.by:
        return _("{reference} was already handled by {who}: {status}.").format(
            reference=already.reference, who=already.by, status=status
        )
    return _("{reference} was already handled: {status}.").format(
        reference=already.reference, status=status
    )


def _error_text(error: moderation.ModerationError) -> str:
    match error:
        case moderation.ReportNotFound():
            return _("This report no longer exists.")
        case moderation.MergeTargetInvalid(typed=typed):
            return _(
                "«{typed}» is not an open report to merge into. References look like CW-7K3F9Q."
            ).format(typed=escape(typed[:40]))
        case moderation.CommitmentNotFound(code=code):
            return _("There is no other commitment with the code «{code}».").format(
                code=escape(code[:60])
            )
        case moderation.TextInvalid():
            return _("That text is empty or too long (at most {max} characters).").format(
                max=format_number(moderation.MAX_PUBLIC_TEXT)
            )
        case moderation.UnknownReason():
            return _("This button is no longer valid.")
        case blocking.AlreadyBlocked(reference=reference):
            return _("The sender of {reference} is already blocked.").format(reference=reference)
        case blocking.NotBlocked(reference=reference):
            return _("The sender of {reference} is not blocked.").format(reference=reference)
        case blocking.SenderGone():
            return _("The sender of this report erased their data; there is no one to block.")
        case moderation.NoPhotos():
            return _("This report has no photos.")
        case moderation.PhotosAlreadyThere(reference=reference, hidden=True):
            return _("The photos of {reference} are already hidden.").format(reference=reference)
        case moderation.PhotosAlreadyThere(reference=reference):
            return _("The photos of {reference} are not hidden.").format(reference=reference)
        case moderation.AuthorErased(reference=reference):
            return _(
                "The author of {reference} has erased their data, so they cannot be asked."
            ).format(reference=reference)
    return _("That did not work; please try again.")
