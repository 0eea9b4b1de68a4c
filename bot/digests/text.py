"""The digest as a Telegram message (HTML), in the current reader's locale.

Numbers, dates and durations go through Babel; the period is shown in the agency's time zone,
where its officials live. Report texts are public texts, shortened; codes and references are
left-to-right inserts in right-to-left languages.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from babel.dates import format_timedelta

from bot.digests.figures import Digest, ListedReport
from bot.i18n.formatting import format_datetime, format_number
from bot.i18n.translate import _, current_locale, isolate, ltr, ngettext

EXCERPT = 80
# Telegram allows 4096 characters; commitments beyond this many are left to the chart and CSV.
MAX_LISTED_COMMITMENTS = 25


def duration(value: timedelta | float) -> str:
    """E.g. "3 days", "5 hours", in the reader's language."""
    if not isinstance(value, timedelta):
        value = timedelta(seconds=value)
    return format_timedelta(value, threshold=1.5, locale=current_locale())


def _excerpt(report: ListedReport) -> str:
    if not report.text:
        return _("🎤 Voice note")
    text = " ".join(report.text.split())
    if len(text) > EXCERPT:
        text = text[: EXCERPT - 1].rstrip() + "…"
    return isolate(escape(text))


def _median_line(label: str, seconds: float | None, count: int) -> str:
    if seconds is None:
        return f"{label}: —"
    over = ngettext("over {count} report", "over {count} reports", count).format(
        count=format_number(count)
    )
    return f"{label}: <b>{duration(seconds)}</b> ({over})"


def render_digest(digest: Digest) -> str:
    lines = [
        _("📊 <b>Digest for {agency}</b>").format(agency=isolate(escape(digest.agency_name))),
        _("From {start} to {end}").format(
            start=format_datetime(digest.start, digest.timezone),
            end=format_datetime(digest.end, digest.timezone),
        ),
        "",
        _("<b>Per commitment</b>: new, open, resolved and reopened reports"),
    ]
    for figure in digest.commitments[:MAX_LISTED_COMMITMENTS]:
        counts = _("{new} new · {open} open · {resolved} resolved · {reopened} reopened").format(
            new=format_number(figure.new),
            open=format_number(figure.open),
            resolved=format_number(figure.resolved),
            reopened=format_number(figure.reopened),
        )
        lines.append(f"• <b>{ltr(escape(figure.code))}</b> {isolate(escape(figure.title))}")
        lines.append(f"  {counts}")
    hidden = len(digest.commitments) - MAX_LISTED_COMMITMENTS
    if hidden > 0:
        lines.append(
            ngettext(
                "… and {count} more commitment (see the CSV)",
                "… and {count} more commitments (see the CSV)",
                hidden,
            ).format(count=format_number(hidden))
        )
    if not digest.commitments:
        lines.append(_("No reports yet."))
    lines += [
        "",
        _median_line(
            _("⏱ Median time to acknowledge"),
            digest.median_acknowledge.seconds,
            digest.median_acknowledge.count,
        ),
        _median_line(
            _("✅ Median time to resolve"),
            digest.median_resolve.seconds,
            digest.median_resolve.count,
        ),
        "",
        _("⏳ <b>Oldest unanswered reports</b>"),
    ]
    for report in digest.oldest_unanswered:
        waiting = _("waiting for {duration}").format(duration=duration(report.waiting or 0))
        lines.append(f"• {_reference(report)}, {waiting}: {_excerpt(report)}")
    if not digest.oldest_unanswered:
        lines.append(_("None: every report has an answer."))
    lines += ["", _("👍 <b>Most supported open reports</b>")]
    for report in digest.most_supported:
        supporters = ngettext("👥 {n} supporter", "👥 {n} supporters", report.supporters).format(
            n=format_number(report.supporters)
        )
        lines.append(f"• {_reference(report)}, {supporters}: {_excerpt(report)}")
    if not digest.most_supported:
        lines.append(_("None yet."))
    return "\n".join(lines)


def _reference(report: ListedReport) -> str:
    return f"{ltr(report.reference)} ({ltr(escape(report.commitment_code))})"


def csv_caption(digest: Digest) -> str:
    return ngettext(
        "The period's {count} report as CSV (public fields only).",
        "The period's {count} reports as CSV (public fields only).",
        digest.csv_rows,
    ).format(count=format_number(digest.csv_rows))
