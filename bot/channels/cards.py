"""The moderation card: everything a moderator needs to judge a report, and never who wrote it.

Rendered in the staff group's language; the citizen's own words are quoted as written (escaped),
with the redacted public text shown when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape, unescape

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit

from bot.catalog.commitments import title_of
from bot.channels.buttons import answer_button, card_button
from bot.citizens.blocking import BLOCK_REASONS, reason_label
from bot.core.services import Services
from bot.i18n.formatting import format_coordinates, format_datetime, format_distance
from bot.i18n.translate import _, language_name, ngettext, use_locale
from bot.reports.agency_delivery import ANSWERS
from bot.reports.drafting import KIND_LABELS, Kind
from bot.reports.duplicates import NearbyReport, nearby_open_reports
from bot.reports.flags import Flag, find_flags, flag_label
from bot.reports.lifecycle import FINAL, PHOTO_STATUSES, Status, can_transition, status_label
from bot.reports.moderation import REJECT_REASONS
from storage.models import Report, ReportEvent, ReportQuestion
from storage.queries import api_keys as api_key_queries
from storage.queries import blocking as blocking_queries
from storage.queries import moderation as queries
from storage.queries import reports as report_queries
from storage.queries.citizens import without_telegram


@dataclass(frozen=True)
class Card:
    report_id: int
    text: str
    markup: InlineKeyboardMarkup | None
    photo_hashes: list[str]
    voice_file_id: str | None = None
    caption: bool = False  # drawn to fit a photo's caption (the card posted is one)


# Telegram's limit on a photo's caption: 1,024 characters of the text as read (tags removed,
# entities decoded). Counted in UTF-16 code units, the stricter of the ways to count them.
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
# Quoted texts on a caption card are shortened to these lengths, in turn, until it fits.
_QUOTE_LIMITS = (None, 400, 200, 80)
_TAG = re.compile(r"<[^>]*>")


def visible_length(html: str) -> int:
    """The length Telegram counts against a caption's limit: tags removed, entities decoded,
    surrounding whitespace trimmed (as Telegram does), in UTF-16 code units."""
    text = unescape(_TAG.sub("", html)).strip()
    return len(text.encode("utf-16-le")) // 2


def fits_caption(html: str) -> bool:
    return visible_length(html) <= CAPTION_LIMIT


async def edit_card(bot: Bot, chat_id: int, message_id: int, card: Card) -> Message | bool:
    """Redraw a posted card: the caption of its photo, or its text."""
    if card.caption:
        return await bot.edit_message_caption(
            chat_id=chat_id, message_id=message_id, caption=card.text, reply_markup=card.markup
        )
    return await bot.edit_message_text(
        card.text, chat_id=chat_id, message_id=message_id, reply_markup=card.markup
    )


def map_link(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=18/{latitude:.6f}/{longitude:.6f}"


async def build_card(
    services: Services,
    report_id: int,
    menu: str = "main",
    *,
    caption: bool | None = None,
    footer: str | None = None,
) -> Card | None:
    """The card as it should look now; `menu` picks the reject or merge sub-menu.

    A card posted as a photo's caption (or with caption=True) is drawn within Telegram's
    1,024 characters: the latest events first kept, the earlier ones counted in one line, and
    the quoted texts shortened if that is not enough. `footer` ends the card (a note)."""
    async with services.db.read() as session:
        report = await queries.report_with_details(session, report_id)
        if report is None:
            return None
        supporters = await queries.supporter_count(session, report.id)
        history = await report_queries.events(session, report.id)
        questions = await queries.questions_of(session, report.id)
        posted = await queries.card_of(session, report.id)
        # A partner channel's report says whose channel it came from (never who called it).
        partner = (
            await api_key_queries.partner_of(session, report.citizen_id)
            if without_telegram(report.citizen_id)
            else None
        )
        sender_blocked = (
            await blocking_queries.blocked_since(session, report.citizen_id) is not None
        )
        targets = {}
        if report.duplicate_of_id is not None:
            targets[report.duplicate_of_id] = await queries.reference_of(
                session, report.duplicate_of_id
            )
    candidates = await _duplicate_candidates(services, report)
    as_caption = caption if caption is not None else (posted is not None and posted.caption)
    with use_locale(services.settings.staff_locale):
        tail = []
        if sender_blocked:
            # Only that the sender is blocked, never who they are.
            tail.append(_("🚷 <b>Sender blocked:</b> no new reports are accepted from them."))
        if report.photos_hidden and report.photos:
            tail.append(_("🙈 Photos hidden from the public"))
        if posted is not None:
            note = lost_parts_note(posted.photos_lost, posted.voice_lost)
            tail.extend([note] if note else [])
        tail.extend([footer] if footer else [])

        def draw(quote_limit: int | None = None) -> tuple[list[str], list[str]]:
            return _card_text(
                services, report, supporters, history, questions, candidates, quote_limit, partner
            )

        if as_caption:
            text = _fit_caption(draw, tail)
        else:
            body, events = draw()
            text = "\n".join([*body, *events, *tail])
        markup = _card_markup(report, menu, candidates, sender_blocked)
    return Card(
        report.id,
        text,
        markup,
        [p.content_sha256 for p in report.photos],
        report.voice_file_id,
        caption=as_caption,
    )


def _fit_caption(draw: Callable[[int | None], tuple[list[str], list[str]]], tail: list[str]) -> str:
    """The card within a caption's limit: all of it if it fits; else the latest events, with
    a line counting the earlier ones; else with the quoted texts shortened too; at worst, the
    text as read cut to the limit (no markup, so no tag is cut in half)."""
    text = ""
    for quote_limit in _QUOTE_LIMITS:
        body, events = draw(quote_limit)
        for kept in range(len(events), -1, -1):
            dropped = len(events) - kept
            earlier = (
                [
                    # Translators: on a moderation card too long for a photo's caption.
                    ngettext("… {n} earlier event", "… {n} earlier events", dropped).format(
                        n=dropped
                    )
                ]
                if dropped
                else []
            )
            text = "\n".join([*body, *earlier, *events[dropped:], *tail])
            if fits_caption(text):
                return text
    plain = unescape(_TAG.sub("", text)).strip()[: CAPTION_LIMIT - 1]
    while visible_length(escape(plain)) > CAPTION_LIMIT - 1:  # UTF-16: some count twice
        plain = plain[:-1]
    return escape(plain) + "…"


def lost_parts_note(photos_lost: int, voice_lost: bool) -> str | None:
    """What a card says about its parts Telegram would not take, in the current locale."""
    notes = []
    if voice_lost:
        notes.append(_("the voice note could not be posted"))
    if photos_lost:
        notes.append(
            ngettext(
                "{n} photo could not be posted", "{n} photos could not be posted", photos_lost
            ).format(n=photos_lost)
        )
    if not notes:
        return None
    return _("⚠️ Not shown here: {what}.").format(what="; ".join(notes))


async def _duplicate_candidates(services: Services, report: Report) -> list[NearbyReport]:
    if report.latitude is None or report.longitude is None:
        return []
    return await nearby_open_reports(
        services.db,
        report.commitment_id,
        report.latitude,
        report.longitude,
        radius_m=services.settings.duplicate_radius_m,
        exclude_report_id=report.id,
        limit=3,
    )


def _card_text(
    services: Services,
    report: Report,
    supporters: int,
    history: Sequence[ReportEvent],
    questions: Sequence[ReportQuestion],
    candidates: list[NearbyReport],
    quote_limit: int | None = None,
    partner: str | None = None,
) -> tuple[list[str], list[str]]:
    """(the card's lines, the lines of its history); quoted texts cut to quote_limit."""
    settings = services.settings
    lines = [f"<b>{report.reference}</b> · {escape(status_label(report.status))}"]
    if partner is not None:
        # Translators: on a moderation card; the report came from a partner channel (a web form,
        # an SMS gateway, a call centre) over Open311; {name} is the partner's name.
        lines.append(_("🔌 <b>From partner:</b> {name}").format(name=escape(partner)))
    lines += [
        *report_lines(
            services,
            report,
            settings.staff_locale,
            supporters,
            public_only=False,
            quote_limit=quote_limit,
        ),
    ]
    flags = find_flags(report.text)
    if candidates:
        flags.add(Flag.DUPLICATE)
    if flags:
        labels = ", ".join(flag_label(flag) for flag in Flag if flag in flags)
        lines.append(_("⚠️ <b>Check:</b> {flags}").format(flags=escape(labels)))
    for candidate in candidates:
        lines.append(
            _("   ↳ {reference}, {distance} away: {preview}").format(
                reference=candidate.reference,
                distance=escape(format_distance(candidate.distance_m)),
                preview=escape(candidate.preview),
            )
        )
    for question in questions:
        asked = _shortened(question.question, quote_limit)
        lines.append(_("❓ <b>Question:</b> {text}").format(text=escape(asked)))
        if question.answer:  # "" once retention deleted it
            answer = _shortened(question.answer, quote_limit)
            lines.append(_("💬 <b>Answer:</b> {text}").format(text=escape(answer)))
    done = [_event_line(e, settings.timezone) for e in history]
    return lines, [line for line in done if line]


def _shortened(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def report_lines(
    services: Services,
    report: Report,
    locale: str,
    supporters: int,
    *,
    public_only: bool,
    quote_limit: int | None = None,
) -> list[str]:
    """What staff and officials both see: commitment, kind, text, place, photos, supporters.
    Officials get the public text only; moderators the text as written and the public one."""
    title = title_of(report.commitment, locale, services.settings.default_locale)
    lines = [
        _("<b>Commitment:</b> {code} {title}").format(
            code=escape(report.commitment.code), title=escape(title)
        ),
        _("<b>Kind:</b> {kind}").format(kind=escape(_(KIND_LABELS[Kind(report.kind)]))),
        _("<b>Written in:</b> {language}").format(language=escape(language_name(report.language))),
    ]
    shown = (report.public_text or report.text) if public_only else report.text
    if shown:
        lines.append(f"<blockquote>{escape(_shortened(shown, quote_limit))}</blockquote>")
    elif report.voice_file_id:
        lines.append(_("🎤 Voice note ({seconds} s)").format(seconds=report.voice_duration or 0))
    if report.public_text is not None and not public_only:
        lines.append(_("<b>Public text:</b>"))
        public = _shortened(report.public_text, quote_limit)
        lines.append(f"<blockquote>{escape(public)}</blockquote>")
    if report.latitude is not None and report.longitude is not None:
        where = format_coordinates(report.latitude, report.longitude)
        link = f'<a href="{escape(map_link(report.latitude, report.longitude))}">{where}</a>'
        accuracy = f" (±{escape(format_distance(report.accuracy_m))})" if report.accuracy_m else ""
        lines.append(f"📍 {link}{accuracy}")
    else:
        lines.append(_("📍 no location"))
    lines.append(
        ngettext("📷 {n} photo", "📷 {n} photos", len(report.photos)).format(n=len(report.photos))
        + " · "
        + ngettext("👥 {n} supporter", "👥 {n} supporters", supporters).format(n=supporters)
    )
    return lines


async def build_official_card(services: Services, report_id: int, locale: str) -> Card | None:
    """The card an agency official gets, in their language: public fields and answer buttons,
    never who the citizen is."""
    async with services.db.read() as session:
        report = await queries.report_with_details(session, report_id)
        if report is None:
            return None
        supporters = await queries.supporter_count(session, report.id)
    with use_locale(locale):
        lines = [
            _("📣 <b>Report {reference}</b> · {status}").format(
                reference=report.reference, status=escape(status_label(report.status))
            ),
            *report_lines(services, report, locale, supporters, public_only=True),
            _("Answer with the buttons below; the citizen is told in their own language."),
        ]
        rows = [
            [InlineKeyboardButton(_(label), callback_data=answer_button(report.id, status.value))]
            for status, label in ANSWERS.items()
            if can_transition(report.status, status)
        ]
    markup = InlineKeyboardMarkup(rows) if rows else None
    return Card(
        report.id,
        "\n".join(lines),
        markup,
        [p.content_sha256 for p in report.photos],
        report.voice_file_id,
    )


def _event_line(event: ReportEvent, timezone: str) -> str | None:
    who = escape(event.actor_name or _("a moderator"))
    when = escape(format_datetime(event.created_at, timezone))
    note = escape(event.note or "")
    if event.action == "status":
        if event.to_status == Status.PUBLISHED:
            return _("✅ Approved by {who}, {when}").format(who=who, when=when)
        if event.to_status == Status.REJECTED:
            reason = _(REJECT_REASONS.get(event.note or "", event.note or ""))
            return _("🚫 Rejected by {who}, {when}: {reason}").format(
                who=who, when=when, reason=escape(reason)
            )
        if event.to_status == Status.WITHDRAWN:
            return _("↩️ Withdrawn by the citizen, who erased their data, {when}").format(when=when)
        if event.to_status == Status.DUPLICATE:
            return _("🔁 Merged into {reference} by {who}, {when}").format(
                reference=note, who=who, when=when
            )
        return _("{status}: {who}, {when}").format(
            status=escape(status_label(event.to_status)), who=who, when=when
        )
    if event.action == "moved":
        return _("📂 Moved by {who}, {when}: {note}").format(who=who, when=when, note=note)
    if event.action == "redacted":
        return _("✏️ Public text redacted by {who}, {when}").format(who=who, when=when)
    if event.action == "blocked":
        return _("🚷 Sender blocked by {who}, {when}: {reason}").format(
            who=who, when=when, reason=escape(reason_label(event.note))
        )
    if event.action == "unblocked":
        return _("↩️ Sender unblocked by {who}, {when}").format(who=who, when=when)
    if event.action == "photos_hidden":
        return _("🙈 Photos hidden by {who}, {when}").format(who=who, when=when)
    if event.action == "photos_shown":
        return _("🖼 Photos shown again by {who}, {when}").format(who=who, when=when)
    if event.action == "purged":
        # Translators: on a moderation card; the retention limit deleted a rejected report's content.
        return _("🧹 Text, photos and voice note deleted (retention), {when}").format(when=when)
    return None


def _card_markup(
    report: Report, menu: str, candidates: list[NearbyReport], sender_blocked: bool
) -> InlineKeyboardMarkup | None:
    def button(label: str, action: str, argument: str | int = "") -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=card_button(report.id, action, argument))

    status = Status(report.status)
    if menu == "block" and not sender_blocked:
        rows = [[button(_(label), "br", key)] for key, label in BLOCK_REASONS.items()]
        rows.append([button(_("✍️ Another reason: reply with it"), "bo")])
        rows.append([button(_("◀️ Back"), "bk")])
        return InlineKeyboardMarkup(rows)
    # The author erased their data, or a partner channel sent it: nobody to ask or block.
    erased = without_telegram(report.citizen_id)
    # The sender can be blocked from any card, a closed one too (a spammer's rejected report).
    block_row: list[InlineKeyboardButton] = []
    if sender_blocked:
        block_row = [button(_("↩️ Unblock sender"), "ub")]
    elif not erased:
        block_row = [button(_("🚷 Block sender"), "bl")]
    # Photos are public with their report unless hidden; a merged report is public too.
    photo_row: list[InlineKeyboardButton] = []
    if report.photos and status in PHOTO_STATUSES:
        photo_row = [
            button(_("🖼 Show photos"), "ps")
            if report.photos_hidden
            else button(_("🙈 Hide photos"), "ph")
        ]
    if status in FINAL:
        final_rows = [row for row in (photo_row, block_row) if row]
        return InlineKeyboardMarkup(final_rows) if final_rows else None
    if menu == "reject" and status == Status.PENDING_REVIEW:
        rows = [[button(_(label), "rr", key)] for key, label in REJECT_REASONS.items()]
        rows.append([button(_("◀️ Back"), "bk")])
        return InlineKeyboardMarkup(rows)
    if menu == "merge":
        rows = [
            [button(_("🔁 Into {reference}").format(reference=c.reference), "mt", c.report_id)]
            for c in candidates
        ]
        rows.append([button(_("🔁 Another report: reply with its reference"), "mm")])
        rows.append([button(_("◀️ Back"), "bk")])
        return InlineKeyboardMarkup(rows)
    rows = []
    if status == Status.PENDING_REVIEW:
        rows.append([button(_("✅ Approve"), "ok"), button(_("🚫 Reject"), "rj")])
    rows.append([button(_("🔁 Merge"), "mg"), button(_("📂 Move"), "mv")])
    if erased:  # nobody to ask
        rows.append([button(_("✏️ Redact"), "rd")])
    else:
        rows.append([button(_("✏️ Redact"), "rd"), button(_("❓ Ask the citizen"), "ask")])
    if photo_row:
        rows.append(photo_row)
    if block_row:
        rows.append(block_row)
    return InlineKeyboardMarkup(rows)
