"""/mydata: everything stored about the citizen, sent to their own chat: a summary in their
language, the JSON file, and their photos as zip files."""

from __future__ import annotations

import tempfile
from html import escape

from telegram import Update

from bot.citizens import data_export
from bot.citizens.data_export import CitizenData
from bot.core.services import BotContext
from bot.i18n.formatting import format_date
from bot.i18n.translate import _, current_locale, language_name, ngettext

# How long one zip's upload (and Telegram's answer to it) may take.
ZIP_UPLOAD_SECONDS = 180.0


async def mydata_command(update: Update, context: BotContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    data = await data_export.collect(
        services.db,
        user.id,
        default_locale=services.settings.default_locale,
        now=services.clock(),
        locale=current_locale(),
    )
    if data is None:
        await context.bot.send_message(
            chat.id,
            _(
                "Nothing is stored about you: you have not accepted the privacy notice or sent "
                "a report. Send /report to start one."
            ),
        )
        return
    parts = data_export.split(data.photos, data_export.ZIP_PART_LIMIT)
    await context.bot.send_message(chat.id, summary(data, len(parts), services.settings.timezone))
    await context.bot.send_document(
        chat.id,
        data.json_bytes(),
        filename=data_export.json_file_name(user.id),
        # Translators: the caption of the JSON file /mydata sends.
        caption=_("Everything stored about you, in JSON."),
    )
    for number, photos in enumerate(parts, 1):
        # Written to disk, not memory; the request then reads it once (up to ZIP_PART_LIMIT).
        with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
            if not await data_export.write_zip(services.db, photos, archive):
                continue  # deleted since they were listed: no empty zip
            archive.seek(0)
            caption = (
                # Translators: the caption of a zip file of photos /mydata sends, when there
                # are several.
                _("Your photos, part {part} of {parts}.").format(part=number, parts=len(parts))
                if len(parts) > 1
                else _("Your photos.")
            )
            await context.bot.send_document(
                chat.id,
                archive,
                filename=data_export.zip_file_name(user.id, number, len(parts)),
                caption=caption,
                # Up to 45 MB: more than the 20 s PTB allows media by default on a slow uplink.
                write_timeout=ZIP_UPLOAD_SECONDS,
                read_timeout=ZIP_UPLOAD_SECONDS,
            )


def summary(data: CitizenData, zips: int, timezone: str) -> str:
    citizen = data.citizen
    lines = ["<b>" + _("Your data in Commitment Watch") + "</b>", ""]
    if citizen.consent_at is not None:
        lines.append(
            _("You accepted the privacy notice on {date}.").format(
                date=escape(format_date(citizen.consent_at, timezone))
            )
        )
    else:
        lines.append(_("You have not accepted the privacy notice."))
    language = escape(language_name(current_locale()))
    if citizen.language:
        # Translators: {language} is a language named in itself, e.g. "Français".
        lines.append(_("Language: {language} (chosen with /language).").format(language=language))
    else:
        lines.append(
            _("Language: {language} (from your Telegram settings).").format(language=language)
        )
    lines.append(
        ngettext("You have sent {n} report.", "You have sent {n} reports.", data.reports).format(
            n=data.reports
        )
    )
    if data.supports:
        lines.append(
            ngettext("You support {n} report.", "You support {n} reports.", data.supports).format(
                n=data.supports
            )
        )
    if data.draft_step is not None:
        lines.append(_("You have a report in progress."))
    if data.questions:
        lines.append(
            ngettext(
                "Moderators asked you {n} question.",
                "Moderators asked you {n} questions.",
                data.questions,
            ).format(n=data.questions)
        )
    if data.photos:
        lines.append(
            ngettext("{n} photo is stored.", "{n} photos are stored.", len(data.photos)).format(
                n=len(data.photos)
            )
        )
    lines.append("")
    lines.append(
        _(
            "The JSON file below holds all of it: your Telegram user id, your language, when you "
            "accepted the privacy notice, each report with its text, voice note, exact location, "
            "photos, status and history, the reports you support, your report in progress and "
            "moderators' questions to you."
        )
    )
    if zips:
        lines.append(
            ngettext(
                "Your photos follow in a zip file.",
                "Your photos follow in {n} zip files.",
                zips,
            ).format(n=zips)
        )
    lines.append("")
    lines.append(_("To erase your data, send /forget."))
    return "\n".join(lines)
