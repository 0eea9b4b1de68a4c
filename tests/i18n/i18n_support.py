"""Reading the bot in another language: catalog lookups, and "is any English left?"."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import select

from bot.i18n.translate import FSI, LRI, PDI, gettext, ngettext, use_locale
from bot.reports.references import new_reference
from emulator import BotMessage
from storage.db import Database
from storage.models import Citizen, Report
from tools.catalogs import TEMPLATE, read_catalog

BRAND = "Commitment Watch"
_TAG = re.compile(r"<[^>]+>")
_SPLIT = re.compile(rf"\{{[^{{}}]*\}}|<[^>]+>|[\n•«»:;!?()“”\"{LRI}{FSI}{PDI}]|\. ")
_COMMAND_OR_CODE = re.compile(r"/[a-z_]+|\b[A-Z]{2,}(?:-[A-Z0-9]+)+\b|\b[A-Z0-9]{6}\b")
_WORDS = re.compile(r"[A-Za-z]{2,}")


@cache
def msgids() -> tuple[str, ...]:
    return tuple(m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog(TEMPLATE) if m.id)


def full_msgid(start: str) -> str:
    """The catalog's message that is, or else uniquely starts with, `start`."""
    if start in msgids():
        return start
    found = [msgid for msgid in msgids() if msgid.startswith(start)]
    assert len(found) == 1, f"{len(found)} messages start with {start!r}"
    return found[0]


def tr(locale: str, msgid: str, **values: object) -> str:
    """What the bot sends for msgid (or its unique start) in locale, isolates included,
    before Telegram parses the HTML."""
    with use_locale(locale):
        text = gettext(full_msgid(msgid))
    return text.format(**values) if values else text


def trn(locale: str, singular: str, plural: str, count: int, /, **values: object) -> str:
    with use_locale(locale):
        return ngettext(singular, plural, count).format(**values)


def plain(sent_html: str) -> str:
    """What the reader sees of HTML the bot sent: tags gone, entities decoded."""
    return html.unescape(_TAG.sub("", sent_html))


def fragment(locale: str, msgid: str | tuple[str, str, int]) -> str:
    """The longest literal piece of a translation, to recognise its message by; a plural
    message is given as (singular, plural, n)."""
    with use_locale(locale):
        text = gettext(full_msgid(msgid)) if isinstance(msgid, str) else ngettext(*msgid)
    return max((piece.strip() for piece in _SPLIT.split(text)), key=len)


@cache
def english_sentences() -> frozenset[str]:
    """Every piece of English the catalog holds that has at least two words of its own."""
    pieces: set[str] = set()
    for message in read_catalog(TEMPLATE):
        if not message.id:
            continue
        for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
            for piece in _SPLIT.split(msgid.replace(BRAND, "\n")):
                piece = " ".join(_COMMAND_OR_CODE.sub(" ", piece).split())
                if len(_WORDS.findall(piece)) >= 2:
                    pieces.add(piece.lower())
    return frozenset(pieces)


def english_left(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The English sentences of the catalog found in text, after removing what may stay as
    written (the citizen's words, catalog titles, codes)."""
    for keep in allowed:
        text = text.replace(keep, " ")
    for mark in (LRI, FSI, PDI):
        text = text.replace(mark, "")
    text = " ".join(text.split()).lower()
    return sorted(piece for piece in english_sentences() if piece in text)


def message_texts(message: BotMessage) -> list[str]:
    """The text of a message and the labels of its buttons and reply keyboard."""
    return [message.text or message.caption or "", *message.buttons, *message.reply_keyboard]


async def add_reports(db: Database, telegram_user_id: int, commitment_id: int, count: int) -> None:
    """Reports written straight into the database (as if sent earlier), for plural checks."""
    async with db.write() as session:
        citizen = await session.scalar(
            select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
        )
        assert citizen is not None
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for index in range(count):
            at = start + timedelta(hours=index)
            session.add(
                Report(
                    reference=new_reference(),
                    commitment_id=commitment_id,
                    citizen_id=citizen.id,
                    kind="progress",
                    text="An earlier report, written straight into the database.",
                    language="en",
                    status="pending_review",
                    created_at=at,
                    updated_at=at,
                )
            )
