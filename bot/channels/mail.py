"""The e-mail channel: an approved report to each of the agency's addresses, over SMTP.

Plain text with an HTML alternative, the cleaned photos (no EXIF, no GPS) attached. Written in
the deployment's DEFAULT_LOCALE: an agency has no language of its own, and one mailbox is read by
several people. The text is the card officials get in Telegram, without its buttons.

SMTP answers: a recipient refused with 5xx fails for good (the address is wrong; the admin sees
it in `outbox failed`); everything else (connection refused, timeouts, 4xx, a wrong password) is
retried on the agency schedule, so an admin can fix the server or the credentials meanwhile.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import aiosmtplib

from bot.catalog.commitments import localized
from bot.channels.cards import report_lines
from bot.core.services import Services
from bot.core.settings import Settings
from bot.i18n.translate import _, use_locale
from bot.outbox.dispatcher import Outgoing, PermanentFailure, TemporaryFailure
from bot.reports.lifecycle import status_label
from storage.models import Report
from storage.queries import agencies as agency_queries
from storage.queries import media
from storage.queries import moderation as queries

TIMEOUT_SECONDS = 30
_TAG = re.compile(r"<[^>]+>")


def _plain(line: str) -> str:
    """A Telegram-HTML line as plain text."""
    return html.unescape(_TAG.sub("", line))


def compose(
    services: Services,
    report: Report,
    supporters: int,
    agency_name: str,
    to: str,
    photos: list[tuple[str, str, bytes]],
) -> EmailMessage:
    """The e-mail for one address; photos are (file name, MIME type, cleaned bytes)."""
    settings = services.settings
    locale = settings.default_locale
    with use_locale(locale):
        status = status_label(report.status)
        subject = _("Report {reference} · {status}").format(
            reference=report.reference, status=status
        )
        lines = [
            _("📣 <b>Report {reference}</b> · {status}").format(
                reference=report.reference, status=html.escape(status)
            ),
            *report_lines(services, report, locale, supporters, public_only=True),
        ]
        footer = _("Sent automatically by Commitment Watch to {agency}.").format(
            agency=html.escape(agency_name)
        )
    return mail(settings, locale, to, subject, lines, footer, photos)


def mail(
    settings: Settings,
    locale: str,
    to: str,
    subject: str,
    lines: list[str],
    footer: str,
    attachments: list[tuple[str, str, bytes]],
) -> EmailMessage:
    """An e-mail from Telegram-HTML lines: plain text, an HTML alternative and the attachments
    (file name, MIME type, bytes); shared by report and digest e-mails."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from or ""
    message["To"] = to
    sender_domain = parseaddr(settings.mail_from or "")[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=sender_domain or None)
    message.set_content("\n".join(_plain(line) for line in [*lines, "", footer]) + "\n")
    direction = "rtl" if locale == "ar" else "ltr"
    body = "".join(f"<div>{line or '<br>'}</div>\n" for line in lines)
    message.add_alternative(
        f'<!DOCTYPE html><html lang="{locale}" dir="{direction}"><body>\n{body}'
        f"<hr><p><small>{footer}</small></p></body></html>\n",
        subtype="html",
    )
    for filename, mime_type, content in attachments:
        maintype, _slash, subtype = mime_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    # Last: set_content() and add_attachment() move every Content-* header set before them.
    message["Content-Language"] = locale
    return message


async def send_email(services: Services, message: Outgoing) -> None:
    settings = services.settings
    if not settings.mail_enabled:
        raise PermanentFailure("SMTP_HOST is not set")
    payload = message.payload
    report_id = int(payload["report_id"])
    async with services.db.read() as session:
        agency = await agency_queries.by_id(session, int(payload["agency_id"]))
        report = await queries.report_with_details(session, report_id)
        supporters = await queries.supporter_count(session, report_id) if report else 0
        files = (
            [await media.get(session, p.content_sha256) for p in report.photos] if report else []
        )
    if agency is None or report is None:
        raise PermanentFailure(f"agency or report {report_id} is gone")
    photos = [
        (f"{report.reference}-{n}.{_extension(f.mime_type)}", f.mime_type, f.content)
        for n, f in enumerate((f for f in files if f is not None), start=1)
    ]
    name = localized(agency.names or {}, settings.default_locale, settings.default_locale)
    email = compose(services, report, supporters, name or agency.code, payload["to"], photos)
    await smtp_send(settings, email)


async def smtp_send(settings: Settings, email: EmailMessage) -> None:
    """Send over SMTP; a 5xx refusal of every recipient is permanent, anything else temporary."""
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port_or_default,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls,
            timeout=TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [refused.code for refused in error.recipients]
        summary = f"recipient refused: {'; '.join(str(r) for r in error.recipients)}"
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(summary) from None
        raise TemporaryFailure(summary) from None
    except (aiosmtplib.SMTPException, OSError) as error:
        # Never the password: aiosmtplib's errors carry the server's answer, not our login.
        raise TemporaryFailure(f"SMTP: {type(error).__name__}: {error}") from None


def _extension(mime_type: str) -> str:
    return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(mime_type, "bin")
