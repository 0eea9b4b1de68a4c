"""What the bot says at each step of the report, rendered in the reader's language.

Everything a citizen typed or a catalog holds is HTML-escaped before it is shown back.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.catalog import commitments as catalog
from bot.catalog.commitments import Page
from bot.core.services import Services
from bot.core.settings import Settings
from bot.i18n.formatting import format_coordinates, format_distance, format_number
from bot.i18n.translate import _, current_locale, ngettext
from bot.reports.drafting import KIND_LABELS, MAX_PHOTOS, MAX_TEXT, MIN_TEXT, DraftView, Kind, Step
from handlers import keyboards

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def privacy_notice(settings: Settings) -> str:
    """What is stored and who sees it, the citizen's rights and the limits, before anything is
    stored; the retention and daily limits as this deployment sets them."""
    # Translators: shown before anything is stored; keep the <b> tags and the line breaks.
    lines = [
        _(
            "<b>Before you start: your privacy</b>\n\n"
            "We store what you report (text, voice note, location, photos) and your Telegram "
            "user id, so that we can tell you what happens to your report.\n"
            "• Moderators check each report before it is published.\n"
            "• Agencies and the public see the report, <b>never who you are</b>. Public maps "
            "and data show its place only roughly.\n"
            "• Photo metadata (such as the GPS position inside a photo file) is removed.\n"
            "• /mydata sends you everything stored about you; /forget erases it, at any time."
        )
    ]
    if settings.draft_retention_days:
        days = settings.draft_retention_days
        lines.append(
            ngettext(
                "• A report you start and never send is deleted after {days} day.",
                "• A report you start and never send is deleted after {days} days.",
                days,
            ).format(days=format_number(days))
        )
    if settings.rejected_retention_days:
        days = settings.rejected_retention_days
        lines.append(
            ngettext(
                "• If a report is not published, its text and photos are deleted after {days} day.",
                "• If a report is not published, its text and photos are deleted after {days} "
                "days.",
                days,
            ).format(days=format_number(days))
        )
    n = settings.reports_per_day
    lines.append(
        ngettext(
            "• To keep the service fair, one account can send {n} report a day, and moderators "
            "can stop accepting reports from an account that abuses it.",
            "• To keep the service fair, one account can send {n} reports a day, and moderators "
            "can stop accepting reports from an account that abuses it.",
            n,
        ).format(n=format_number(n))
    )
    return "\n".join(lines) + "\n\n" + _("Nothing about you is stored until you agree.")


def help_text(step: Step | None) -> str:
    general = _(
        "I help you report on public commitments: roads, clinics, schools, and the promises of "
        "your government's action plan. Your report goes to moderators, then to the agency "
        "responsible, and you hear back what they answer.\n\n"
        "/report: start a report\n"
        "/myreports: your reports and their status\n"
        "/status REFERENCE: one report and its history\n"
        "/cancel: stop the report you are writing"
    )
    general += "\n" + _("/language: choose your language")
    general += "\n" + _("/mydata: a copy of everything stored about you")
    general += "\n" + _("/forget: erase your data (you choose what happens to your reports)")
    if step is None:
        return general
    return step_hint(step) + "\n\n" + general


def step_hint(step: Step) -> str:
    hints = {
        Step.COMMITMENT: _(
            "Now: choose the commitment. Type a few words or its code to search, share your "
            "location to see commitments near you, or browse by theme."
        ),
        Step.KIND: _("Now: choose the kind of feedback with one of the buttons."),
        Step.DESCRIPTION: ngettext(
            "Now: describe what you see in a text message ({min} to {max} character), "
            "or send a voice note.",
            "Now: describe what you see in a text message ({min} to {max} characters), "
            "or send a voice note.",
            MAX_TEXT,
        ).format(min=format_number(MIN_TEXT), max=format_number(MAX_TEXT)),
        Step.LOCATION: _(
            "Now: share the location with the button below (or as a place from the map), or "
            "choose to continue without a location."
        ),
        Step.PHOTOS: ngettext(
            "Now: send up to {n} photo, or press the button when you are done.",
            "Now: send up to {n} photos, or press the button when you are done.",
            MAX_PHOTOS,
        ).format(n=MAX_PHOTOS),
        Step.SUMMARY: _("Now: check your report, then send it, change a part, or cancel."),
        Step.SENT: _("Your report was sent. Send /report to start a new one."),
    }
    return hints[step]


def commitment_prompt(*, with_themes: bool) -> tuple[str, Markup]:
    """The question, with the ways to answer it that the keyboard below offers."""
    if with_themes:
        text = _(
            "Which commitment is your report about?\n\n"
            "• Type a few words or the code from the signboard to search\n"
            "• Or press «{nearby}» to see commitments near you\n"
            "• Or browse them by theme"
        )
    else:  # a catalog without themes: no button for them, and no word of them
        text = _(
            "Which commitment is your report about?\n\n"
            "• Type a few words or the code from the signboard to search\n"
            "• Or press «{nearby}» to see commitments near you"
        )
    markup = keyboards.commitment_search_keyboard(with_themes=with_themes)
    return text.format(nearby=escape(keyboards.nearby_label())), markup


def results_text(page: Page, query: str | None) -> str:
    if page.total == 0:
        if query is None:
            return _(
                "I found no commitment near this location. Type a few words to search instead, "
                "or browse by theme."
            )
        return _("I found no commitment matching «{query}». Try other words or the code.").format(
            query=escape(query)
        )
    lines = [
        ngettext(
            "I found {n} commitment. Choose one:",
            "I found {n} commitments. Choose one:",
            page.total,
        ).format(n=page.total)
    ]
    for choice in page.items:
        line = f"• <b>{escape(choice.code)}</b> {escape(choice.title)}"
        if choice.distance_m is not None:
            line += f" ({escape(format_distance(choice.distance_m))})"
        lines.append(line)
    if page.pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page.page + 1, pages=page.pages))
    return "\n".join(lines)


def kind_prompt(title: str) -> str:
    return _("<b>{title}</b>\n\nWhat kind of feedback is it?").format(title=escape(title))


def description_prompt() -> str:
    return ngettext(
        "Describe what you see, in your own words ({min} to {max} character). "
        "You can also send a voice note instead.",
        "Describe what you see, in your own words ({min} to {max} characters). "
        "You can also send a voice note instead.",
        MAX_TEXT,
    ).format(min=format_number(MIN_TEXT), max=format_number(MAX_TEXT))


def location_prompt() -> str:
    return _(
        "Where is it? Press «{share}» (or send a place from the map). If you are not there now, "
        "press «{skip}»."
    ).format(
        share=escape(keyboards.location_request_label()), skip=escape(keyboards.no_location_label())
    )


async def location_check_prompt(services: Services, view: DraftView) -> str:
    """The question when the location sent lies far outside the chosen commitment's area."""
    pending = view.location_to_confirm or {}
    commitment = await catalog.get(services, view.commitment_id or 0)
    title = (
        catalog.title_of(commitment, current_locale(), services.settings.default_locale)
        if commitment
        else "?"
    )
    # Translators: {distance} is e.g. "4,980 km"; {title} the commitment's short title, e.g.
    # "Kawo–Rigasa road rehabilitation". Asked before a location far from it is kept.
    return _("📍 This location is {distance} from <b>{title}</b>. Is that right?").format(
        distance=escape(format_distance(pending.get("distance_m", 0.0))), title=escape(title)
    )


def photos_prompt(count: int) -> str:
    if count == 0:
        return ngettext(
            "Add a photo if you have one: up to {n}. Send it now, or skip.",
            "Add photos if you have them: up to {n}. Send them now, or skip.",
            MAX_PHOTOS,
        ).format(n=MAX_PHOTOS)
    if count >= MAX_PHOTOS:
        # Translators: {count} is the most a report holds (5); {done} the button below.
        return ngettext(
            "{count} photo added: that is as many as a report can hold. Press «{done}» to "
            "continue.",
            "{count} photos added: that is as many as a report can hold. Press «{done}» to "
            "continue.",
            count,
        ).format(count=count, done=escape(keyboards.photos_done_label()))
    # Translators: {count} photos received so far, {n} the most a report holds (5); "Done" is
    # the button "✅ Done with photos".
    return ngettext(
        "{count} photo added (at most {n}). Send more, or press Done.",
        "{count} photos added (at most {n}). Send more, or press Done.",
        count,
    ).format(count=count, n=MAX_PHOTOS)


def photo_count(count: int) -> str:
    """ "2 photos"; zero said the way each language says it ("no photos")."""
    if count == 0:
        return _("no photos")
    return ngettext("{n} photo", "{n} photos", count).format(n=count)


def discard_question(view: DraftView) -> str:
    """Before throwing away a draft: what would be lost."""
    lines = [_("Discard this report? What you have entered will be lost:")]
    if view.text:
        lines.append("• " + _("your description"))
    if view.voice:
        lines.append("• " + _("your voice note"))
    if view.location:
        lines.append("• " + _("the location"))
    if view.photos:
        lines.append("• " + photo_count(len(view.photos)))
    return "\n".join(lines)


async def summary_text(services: Services, view: DraftView) -> str:
    commitment = await catalog.get(services, view.commitment_id) if view.commitment_id else None
    title = (
        catalog.title_of(commitment, current_locale(), services.settings.default_locale)
        if commitment
        else "?"
    )
    code = commitment.code if commitment else "?"
    if view.text:
        description = escape(view.text)
    elif view.voice:
        description = _("🎤 Voice note ({seconds} s)").format(seconds=view.voice.get("duration", 0))
    else:
        description = "?"
    location = view.location
    where = format_coordinates(location["lat"], location["lon"]) if location else _("no location")
    kind = _(KIND_LABELS[Kind(view.kind)]) if view.kind else "?"
    photos = photo_count(len(view.photos))
    # Translators: keep the <b> tags; {code} is a commitment code such as KAD-RD-017.
    return _(
        "<b>Your report</b>\n\n"
        "<b>Commitment:</b> {code} {title}\n"
        "<b>Kind:</b> {kind}\n"
        "<b>Description:</b> {description}\n"
        "<b>Location:</b> {where}\n"
        "<b>Photos:</b> {photos}\n\n"
        "Send it now?"
    ).format(
        code=escape(code),
        title=escape(title),
        kind=kind,
        description=description,
        where=escape(where),
        photos=photos,
    )


async def prompt_for(services: Services, view: DraftView) -> tuple[str, Markup]:
    """The message that asks for the current step."""
    if view.step == Step.COMMITMENT:
        return commitment_prompt(with_themes=bool(await catalog.themes(services)))
    if view.step == Step.KIND:
        commitment = await catalog.get(services, view.commitment_id or 0)
        title = (
            catalog.title_of(commitment, current_locale(), services.settings.default_locale)
            if commitment
            else ""
        )
        return kind_prompt(title), keyboards.kind_keyboard(view)
    if view.step == Step.DESCRIPTION:
        # Takes away the "near me" keyboard of the commitment step, if it is still showing.
        return description_prompt(), ReplyKeyboardRemove()
    if view.step == Step.LOCATION and view.location_to_confirm:
        return await location_check_prompt(services, view), keyboards.location_check_keyboard(view)
    if view.step == Step.LOCATION:
        return location_prompt(), keyboards.location_keyboard()
    if view.step == Step.PHOTOS:
        return photos_prompt(len(view.photos)), keyboards.photos_keyboard(view)
    if view.step == Step.SUMMARY:
        return await summary_text(services, view), keyboards.summary_keyboard(view)
    return step_hint(view.step), None
