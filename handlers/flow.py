"""The citizen's report, step by step: messages of every type and the draft's buttons."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from telegram import MaybeInaccessibleMessage, Message, Update
from telegram.error import TelegramError

from bot.app.inbox import handling_again
from bot.catalog import commitments as catalog
from bot.channels.buttons import DraftButton, int_argument, parse_consent, parse_draft_button
from bot.core.services import BotContext, Services
from bot.i18n.translate import _, current_locale
from bot.reports import drafting
from bot.reports.drafting import DraftView, Step
from bot.reports.photos import MAX_PHOTO_BYTES, NotAnAcceptedImage, clean_image
from handlers import keyboards
from handlers.language import adopt_language
from handlers.prompts import results_text, step_hint
from handlers.questions import answer_moderator_question, offer_nearby_reports
from handlers.replies import (
    acknowledge,
    answer_callback,
    ask_to_discard,
    explain_draft_error,
    outside_region_text,
    receipt,
    send_privacy_notice,
    send_prompt,
    warn_if_daily_limit,
)

log = logging.getLogger(__name__)

# Telegram delivers an album as separate messages; answer once, shortly after the last one.
ALBUM_REPLY_DELAY_S = 0.8


async def _current_or_explain(update: Update, context: BotContext) -> DraftView | None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    state = context.citizen_state or await drafting.state(context.services, user.id)
    view = state.draft
    if not state.consented:
        await send_privacy_notice(context, chat.id, None)
        return None
    if view is None:
        await context.bot.send_message(
            chat.id, _("You have no report in progress. Send /report to start one.")
        )
    return view


async def _hint(context: BotContext, chat_id: int, view: DraftView) -> None:
    # Run again after its worker died, a message may meet the step it already answered: then
    # the question it led to is all the citizen needs.
    if not handling_again.get():
        await context.bot.send_message(chat_id, step_hint(view.step))
    await send_prompt(context, chat_id, view)


# --- text -----------------------------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    if drafting.is_blank(message.text):
        # Nothing to read (and nothing to search for or attach): ask for what the step expects.
        await on_unexpected(update, context)
        return
    if await answer_moderator_question(update, context):
        return
    view = await _current_or_explain(update, context)
    if view is None:
        return
    try:
        if view.step == Step.COMMITMENT and message.text.strip() == keyboards.browse_label():
            await _send_themes(context, message.chat_id, view)
        elif view.step == Step.COMMITMENT:
            await _search(context, message, view, message.text)
        elif view.step == Step.DESCRIPTION:
            view = await drafting.describe_text(context.services, user.id, message.text)
            await send_prompt(context, message.chat_id, view)
        elif view.step == Step.LOCATION and message.text.strip() == keyboards.no_location_label():
            view = await drafting.skip_location(context.services, user.id)
            await acknowledge(context, message.chat_id, _("OK, no location."))
            await send_prompt(context, message.chat_id, view)
        else:
            await _hint(context, message.chat_id, view)
    except drafting.DraftError as error:
        await explain_draft_error(context, message.chat_id, error)


async def _search(context: BotContext, message: Message, view: DraftView, query: str) -> None:
    query = query.strip()[:200]
    view = await drafting.set_search(
        context.services,
        message.from_user.id if message.from_user else 0,
        {"mode": "text", "q": query},
    )
    page = await catalog.search(context.services, query, 0, current_locale())
    await _send_results(context, message.chat_id, view, page, query)


async def _send_results(
    context: BotContext, chat_id: int, view: DraftView, page: catalog.Page, query: str | None
) -> None:
    await context.bot.send_message(
        chat_id, results_text(page, query), reply_markup=keyboards.results_keyboard(view, page)
    )


# --- location -----------------------------------------------------------------------------------


async def on_location(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.location is not None and user is not None
    view = await _current_or_explain(update, context)
    if view is None:
        return
    location = message.location
    try:
        if view.step == Step.COMMITMENT:
            drafting.check_location(context.services, location.latitude, location.longitude)
            view = await drafting.set_search(
                context.services,
                user.id,
                {"mode": "near", "lat": location.latitude, "lon": location.longitude},
            )
            page = await catalog.nearby(
                context.services, location.latitude, location.longitude, 0, current_locale()
            )
            await _send_results(context, message.chat_id, view, page, None)
        elif view.step == Step.LOCATION:
            # A live location is taken at its first position; later edits are ignored.
            view = await drafting.set_location(
                context.services,
                user.id,
                location.latitude,
                location.longitude,
                location.horizontal_accuracy,
            )
            if view.location_to_confirm:
                # Far outside the commitment's area: kept aside until the citizen says yes.
                await send_prompt(context, message.chat_id, view)
            else:
                await _location_saved(context, message.chat_id, user.id, view)
        else:
            await _hint(context, message.chat_id, view)
    except drafting.LocationOutsideRegion:
        await _refuse_outside_region(context, message.chat_id, view)
    except drafting.DraftError as error:
        await explain_draft_error(context, message.chat_id, error)


async def _refuse_outside_region(context: BotContext, chat_id: int, view: DraftView) -> None:
    """The region named in words, under the keyboard of the step: at the commitment step, the
    search's own (no "continue without location" there)."""
    if view.step != Step.COMMITMENT:
        await explain_draft_error(context, chat_id, drafting.LocationOutsideRegion())
        return
    themes = bool(await catalog.themes(context.services))
    await context.bot.send_message(
        chat_id,
        outside_region_text(context),
        reply_markup=keyboards.commitment_search_keyboard(with_themes=themes),
    )


async def _location_saved(context: BotContext, chat_id: int, user_id: int, view: DraftView) -> None:
    await acknowledge(context, chat_id, _("📍 Location saved."))
    if not await offer_nearby_reports(context, chat_id, user_id, view):
        await send_prompt(context, chat_id, view)


# --- photos, documents, voice, anything else ------------------------------------------------------


async def on_photo(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    view = await _current_or_explain(update, context)
    if view is None:
        return
    if view.step != Step.PHOTOS:
        await _hint(context, message.chat_id, view)
        return
    if message.photo:
        largest = message.photo[-1]
        file_id, unique_id, size = largest.file_id, largest.file_unique_id, largest.file_size
    else:
        document = message.document
        assert document is not None
        file_id, unique_id, size = document.file_id, document.file_unique_id, document.file_size
    if size is not None and size > MAX_PHOTO_BYTES:
        await _refuse_file(context, message.chat_id)
        return
    try:
        telegram_file = await context.bot.get_file(file_id)
        data = bytes(await telegram_file.download_as_bytearray())
        # Decoding and encoding take up to a second for 12 MP: off the event loop, so other
        # people's replies keep flowing (Pillow lets go of the GIL meanwhile).
        image = await asyncio.to_thread(clean_image, data)
    except NotAnAcceptedImage:
        await _refuse_file(context, message.chat_id)
        return
    except TelegramError as error:
        log.warning("could not download a photo: %s", error)
        await context.bot.send_message(
            message.chat_id, _("I could not download this photo. Please send it again.")
        )
        return
    try:
        view = await drafting.add_photo(context.services, user.id, file_id, unique_id, image)
    except drafting.DraftError as error:
        await explain_draft_error(context, message.chat_id, error)
        return
    if message.media_group_id and context.job_queue is not None:
        _schedule_album_reply(context, message.chat_id, user.id, message.media_group_id)
    else:
        await send_prompt(context, message.chat_id, view)


def _schedule_album_reply(context: BotContext, chat_id: int, user_id: int, group: str) -> None:
    assert context.job_queue is not None
    name = f"album:{user_id}:{group}"
    for job in context.job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    # PTB types the job queue by its default context; the application's context_types make the
    # callback's context a BotContext at run time (bot/app/application.py).
    context.job_queue.run_once(
        _album_reply,  # type: ignore[arg-type]
        ALBUM_REPLY_DELAY_S,
        chat_id=chat_id,
        user_id=user_id,
        name=name,
    )


async def _album_reply(context: BotContext) -> None:
    job = context.job
    assert job is not None and job.user_id is not None and job.chat_id is not None
    view = await drafting.current(context.services, job.user_id)
    if view is not None and view.step == Step.PHOTOS:
        await send_prompt(context, job.chat_id, view)


async def _refuse_file(context: BotContext, chat_id: int) -> None:
    await context.bot.send_message(
        chat_id,
        _(
            "I can only take photos: JPEG, PNG or WebP images of at most 10 MB. Please send a photo."
        ),
    )


async def on_other_document(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    view = await _current_or_explain(update, context)
    if view is None:
        return
    if view.step == Step.PHOTOS:
        await _refuse_file(context, message.chat_id)
    else:
        await _hint(context, message.chat_id, view)


async def on_voice(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.voice is not None and user is not None
    view = await _current_or_explain(update, context)
    if view is None:
        return
    if view.step != Step.DESCRIPTION:
        await _hint(context, message.chat_id, view)
        return
    voice = message.voice
    try:
        view = await drafting.describe_voice(
            context.services,
            user.id,
            voice.file_id,
            voice.file_unique_id,
            _whole_seconds(voice.duration),
        )
    except drafting.DraftError as error:
        await explain_draft_error(context, message.chat_id, error)
        return
    await send_prompt(context, message.chat_id, view)


async def on_unexpected(update: Update, context: BotContext) -> None:
    """Stickers, contacts, polls...: a hint for the step the citizen is at."""
    message = update.effective_message
    assert message is not None
    view = await _current_or_explain(update, context)
    if view is not None:
        await _hint(context, message.chat_id, view)


# --- buttons ---------------------------------------------------------------------------------------


async def on_consent(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None and query.data is not None
    await answer_callback(query)
    commitment_id, language = parse_consent(query.data)
    await drafting.accept_privacy(context.services, user.id, user.language_code)
    if language is not None:
        # Chosen with /language before agreeing: stored now, and used from this reply on.
        await adopt_language(context, user.id, language)
    if commitment_id is not None and await catalog.get(context.services, commitment_id) is None:
        commitment_id = None
    await _remove_buttons(query.message)
    try:
        view, _resumed = await drafting.begin(context.services, user.id, user.id, commitment_id)
    except drafting.SenderBlocked as blocked:  # an old notice's "I agree", pressed again
        await explain_draft_error(context, user.id, blocked)
        return
    await warn_if_daily_limit(context, user.id, user.id)
    await send_prompt(context, user.id, view, prefix=_("Thank you. Let's start your report."))


async def on_draft_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None and query.data is not None
    button = parse_draft_button(query.data)
    if button is None:
        await answer_callback(query, _("This button is no longer valid."))
        return
    await answer_callback(query)
    chat_id = user.id  # drafts live in the private chat, whatever message the button was on
    try:
        await _apply_button(update, context, button, chat_id)
    except drafting.DraftError as error:
        await explain_draft_error(context, chat_id, error)
    except ValueError:
        # Forged data (an unknown kind or step): nothing changed.
        log.warning("ignored a malformed draft button from user %s", user.id)
        await context.bot.send_message(chat_id, _("This button is no longer valid."))


async def _apply_button(
    update: Update, context: BotContext, button: DraftButton, chat_id: int
) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    step = BUTTON_STEPS.get(button.action)
    if step is None:
        raise ValueError(f"unknown action {button.action!r}")
    await step(Press(context, query.message, user.id, chat_id, button, current_locale()))


@dataclass(frozen=True)
class Press:
    """A draft button pressed by a citizen: everything a step needs."""

    context: BotContext
    message: MaybeInaccessibleMessage | None  # the message the button was on
    user_id: int
    chat_id: int
    button: DraftButton
    locale: str

    @property
    def services(self) -> Services:
        return self.context.services

    @property
    def number(self) -> int:
        return _int(self.button)


ButtonStep = Callable[[Press], Awaitable[None]]


def then_next_prompt(step: Callable[[Press], Awaitable[DraftView]]) -> ButtonStep:
    """For steps that answer the question: its buttons go, and the next question follows."""

    async def run(press: Press) -> None:
        view = await step(press)
        await _remove_buttons(press.message)
        await send_prompt(press.context, press.chat_id, view)

    return run


async def _choose_commitment(press: Press) -> None:
    view = await drafting.choose_commitment(
        press.services, press.user_id, press.button.version, press.number
    )
    services = press.context.services
    commitment = await catalog.get(services, view.commitment_id or 0)
    title = (
        catalog.title_of(commitment, press.locale, services.settings.default_locale)
        if commitment
        else ""
    )
    # The list becomes the choice made; the kind prompt follows.
    await _edit(
        press.message,
        f"✅ <b>{escape(commitment.code if commitment else '')}</b> {escape(title)}",
        None,
    )
    await send_prompt(press.context, press.chat_id, view)


async def _turn_results_page(press: Press) -> None:
    view = await _require(press.services, press.user_id, press.button, Step.COMMITMENT)
    services, search, page_number = press.context.services, view.search or {}, press.number
    query_text: str | None
    if search.get("mode") == "near":
        page = await catalog.nearby(
            services, search["lat"], search["lon"], page_number, press.locale
        )
        query_text = None
    elif search.get("mode") == "theme":
        page = await catalog.in_theme(services, search["theme"], page_number, press.locale)
        query_text = search["theme"]
    else:
        query_text = search.get("q", "")
        page = await catalog.search(services, query_text or "", page_number, press.locale)
    await _edit(
        press.message, results_text(page, query_text), keyboards.results_keyboard(view, page)
    )


async def _show_themes(press: Press) -> None:
    view = await _require(press.services, press.user_id, press.button, Step.COMMITMENT)
    page_number = press.number if press.button.action == "tp" else 0
    await _send_themes(press.context, press.chat_id, view, page_number, on=press.message)


async def _send_themes(
    context: BotContext, chat_id: int, view: DraftView, page: int = 0, *, on: object = None
) -> None:
    """The catalog's themes as buttons: in the message pressed (`on`), else in a new one."""
    themes = await catalog.themes(context.services)
    if not themes:
        await context.bot.send_message(
            chat_id, _("The catalog has no themes yet. Type a few words to search.")
        )
        return
    markup = keyboards.themes_keyboard(view, themes, page)
    if on is None:
        await context.bot.send_message(chat_id, _("Choose a theme:"), reply_markup=markup)
    else:
        await _edit(on, _("Choose a theme:"), markup)


async def _choose_theme(press: Press) -> None:
    await _require(press.services, press.user_id, press.button, Step.COMMITMENT)
    themes = await catalog.themes(press.context.services)
    index = press.number
    if index >= len(themes):
        raise ValueError("theme index out of range")
    view = await drafting.set_search(
        press.services, press.user_id, {"mode": "theme", "theme": themes[index]}
    )
    page = await catalog.in_theme(press.context.services, themes[index], 0, press.locale)
    await _edit(
        press.message, results_text(page, themes[index]), keyboards.results_keyboard(view, page)
    )


@then_next_prompt
async def _choose_kind(press: Press) -> DraftView:
    return await drafting.choose_kind(
        press.services, press.user_id, press.button.version, press.button.argument
    )


async def _location_is_right(press: Press) -> None:
    """ "Yes, it is here" under the question about a far location."""
    view = await drafting.confirm_location(press.services, press.user_id, press.button.version)
    await _remove_buttons(press.message)
    await _location_saved(press.context, press.chat_id, press.user_id, view)


async def _location_is_wrong(press: Press) -> None:
    """ "No, send another location": the far one is dropped and the location asked again."""
    view = await drafting.reject_location(press.services, press.user_id, press.button.version)
    await _remove_buttons(press.message)
    await send_prompt(
        press.context, press.chat_id, view, prefix=_("OK, that location was not kept.")
    )


@then_next_prompt
async def _skip_photos(press: Press) -> DraftView:
    return await _require(press.services, press.user_id, press.button, Step.PHOTOS)


@then_next_prompt
async def _photos_done(press: Press) -> DraftView:
    return await drafting.photos_done(press.services, press.user_id, press.button.version)


@then_next_prompt
async def _edit_part(press: Press) -> DraftView:
    return await drafting.edit(
        press.services, press.user_id, press.button.version, press.button.argument
    )


async def _support_existing(press: Press) -> None:
    try:
        reference = await drafting.support_existing(
            press.services, press.user_id, press.button.version, press.number
        )
    finally:
        await _remove_buttons(press.message)  # supported or not, the offer is answered
    await press.context.bot.send_message(
        press.chat_id,
        _(
            "👍 Thank you! Your voice was added to report {reference}. You now follow it "
            "and will hear what happens to it; no new report was made."
        ).format(reference=reference),
    )


async def _confirm(press: Press) -> None:
    reference = await drafting.confirm(
        press.services, press.user_id, press.button.version, press.locale
    )
    await _remove_buttons(press.message)
    await press.context.bot.send_message(press.chat_id, receipt(reference))


async def _cancel(press: Press) -> None:
    """✖️ Cancel: at once if nothing would be lost, else after a yes (xy) or a no (xn)."""
    view = await _require(press.services, press.user_id, press.button, None)
    await _remove_buttons(press.message)
    if view.holds_work:
        await ask_to_discard(press.context, press.chat_id, view)
    else:
        await _discard(press)


async def _discard(press: Press) -> None:
    await _require(press.services, press.user_id, press.button, None)
    # A draft changed since the question was asked (a photo added meanwhile) is kept.
    await drafting.cancel(press.services, press.user_id, press.button.version)
    await _remove_buttons(press.message)
    await acknowledge(
        press.context, press.chat_id, _("Your report was cancelled; nothing was sent.")
    )


async def _keep(press: Press) -> None:
    view = await drafting.current(press.services, press.user_id)
    if view is None:
        await drafting.raise_for_missing(press.services, press.user_id)
        raise drafting.NoDraft()
    await _remove_buttons(press.message)
    await send_prompt(press.context, press.chat_id, view, prefix=_("OK, your report is kept."))


# The draft buttons' actions (the codes are on the wire: see handlers/keyboards.py).
BUTTON_STEPS: dict[str, ButtonStep] = {
    "cm": _choose_commitment,
    "pg": _turn_results_page,
    "th": _show_themes,
    "tp": _show_themes,
    "t": _choose_theme,
    "k": _choose_kind,
    "ly": _location_is_right,
    "ln": _location_is_wrong,
    "sp": _support_existing,
    "nd": _skip_photos,
    "pd": _photos_done,
    "e": _edit_part,
    "ok": _confirm,
    "x": _cancel,
    "xy": _discard,
    "xn": _keep,
}


def _whole_seconds(duration: int | timedelta) -> int:
    """A voice note's length: PTB 22 gives an int or a timedelta; the draft stores seconds."""
    return int(duration.total_seconds()) if isinstance(duration, timedelta) else int(duration)


def _int(button: DraftButton) -> int:
    value = int_argument(button)
    if value is None:
        raise ValueError("expected a number")
    return value


async def _require(
    services: Services, user_id: int, button: DraftButton, step: Step | None
) -> DraftView:
    """Check a read-only button against the draft it was drawn for, without changing it."""
    view = await drafting.current(services, user_id)
    if view is None:
        await drafting.raise_for_missing(services, user_id)
        raise drafting.NoDraft()
    if view.version != button.version:
        raise drafting.StaleButton(view)
    if step is not None and view.step != step:
        raise drafting.WrongStep(view)
    return view


async def _remove_buttons(message: object) -> None:
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramError:
            log.debug("could not remove buttons", exc_info=True)


async def _edit(message: object, text: str, markup: object) -> None:
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]
        except TelegramError:
            log.debug("could not edit message", exc_info=True)
