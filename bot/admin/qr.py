"""`qr`: QR codes that open the bot on a commitment, for signboards and posters."""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from bot.admin.common import (
    AdminError,
    UsageError,
    admin_command,
    open_database,
    require_bot_username,
)
from bot.admin.labels import Label, QRCode, find_font, render_png, render_svg
from bot.catalog.deeplinks import PayloadTooLong, commitment_link
from bot.core.settings import SUPPORTED_LOCALES, Settings
from bot.i18n.translate import _, ngettext, use_locale
from storage.models import Commitment
from storage.queries import catalog

SHEET_NAME = "qr-sheet.pdf"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "qr",
        help="QR codes (PNG, SVG, printable PDF sheet) that open the bot on a commitment",
        description="Write a QR code per commitment, encoding its deep link, with the code and "
        "short title under it and a line for passers-by (Scan to report on this commitment), as "
        "CODE.png and CODE.svg. Needs BOT_USERNAME.",
    )
    parser.add_argument("codes", nargs="*", metavar="CODE", help="commitment codes")
    parser.add_argument("--all", action="store_true", help="every commitment in the catalog")
    parser.add_argument(
        "--out", type=Path, default=Path("qr"), metavar="DIR", help="output folder (default ./qr)"
    )
    parser.add_argument(
        "--sheet",
        action="store_true",
        help=f"also write {SHEET_NAME}: an A4 sheet to print, six codes per page",
    )
    parser.add_argument(
        "--language",
        metavar="LANG",
        help="language of the title and of the line 'Scan to report on this commitment' under "
        "the code (default: DEFAULT_LOCALE, else English)",
    )
    parser.add_argument(
        "--font",
        type=Path,
        metavar="FILE",
        help="TrueType/OpenType font for the PNG and PDF text (default: DejaVu Sans or Noto "
        "Sans when installed)",
    )
    parser.set_defaults(handler=run_qr)


def label_title(commitment: Commitment, language: str, default_locale: str) -> str:
    """The short title in the wanted language, else the full title in it; only then another
    language. (A Hausa short title should not beat the English full title on an English sign.)"""
    for candidate in dict.fromkeys((language, default_locale, "en")):
        for texts in (commitment.short_titles or {}, commitment.titles or {}):
            if texts.get(candidate):
                return texts[candidate]
    for texts in (commitment.short_titles or {}, commitment.titles or {}):
        if any(texts.values()):
            return next(t for t in texts.values() if t)
    return ""


def file_stem(code: str) -> str:
    """A file name for any code; codes that need changing get a hash so that two cannot meet."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", code).strip(".") or "commitment"
    if safe != code:
        safe = f"{safe[:80]}-{hashlib.sha1(code.encode()).hexdigest()[:8]}"
    return safe


async def _commitments(args: argparse.Namespace, settings: Settings) -> list[Commitment]:
    if args.all and args.codes:
        raise UsageError("give commitment codes or --all, not both")
    if not args.all and not args.codes:
        raise UsageError("give one or more commitment codes, or --all")
    async with open_database(settings) as db, db.read() as session:
        if args.all:
            found = list(await catalog.all_commitments(session))
            if not found:
                raise AdminError("the catalog is empty; import commitments first")
            return found
        by_code = await catalog.commitments_by_codes(session, args.codes)
    folded = {code.casefold(): c for code, c in by_code.items()}
    unknown = [code for code in args.codes if code.casefold() not in folded]
    if unknown:
        raise AdminError(f"unknown commitment code(s): {', '.join(unknown)}; nothing was written")
    # In the order given, each once.
    return list({folded[c.casefold()].code: folded[c.casefold()] for c in args.codes}.values())


@admin_command
async def run_qr(args: argparse.Namespace, settings: Settings) -> int:
    username = require_bot_username(settings)
    language = (args.language or settings.default_locale).lower()
    if args.language and language not in SUPPORTED_LOCALES:
        raise UsageError(f"--language: expected one of {', '.join(SUPPORTED_LOCALES)}")
    try:
        font = find_font(args.font)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    commitments = await _commitments(args, settings)
    with use_locale(language):
        # Printed under every code, for people walking past the signboard.
        caption = _("Scan to report on this commitment")
    labels = []
    for commitment in commitments:
        try:
            link = commitment_link(username, commitment.code)
        except PayloadTooLong:
            raise AdminError(
                f"commitment {commitment.code}: code too long for a deep link"
            ) from None
        title = label_title(commitment, language, settings.default_locale)
        labels.append(Label(commitment.code, title, link, caption))
    if not font.unicode:
        print(
            "warning: no Unicode font found (install DejaVu or Noto fonts, or pass --font); "
            "letters outside ASCII are simplified in the PNG and PDF",
            file=sys.stderr,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    sheet = None
    if args.sheet:
        from bot.admin.sheet import Sheet

        sheet = Sheet()
    for label in labels:
        stem = file_stem(label.code)
        qr_code = QRCode.of(label.link)
        image = render_png(label, qr_code, font)
        image.save(args.out / f"{stem}.png")
        (args.out / f"{stem}.svg").write_text(render_svg(label, qr_code, font), encoding="utf-8")
        if sheet is not None:
            sheet.add(image)
    wrote = ngettext(
        "wrote {count} QR code to {out} (PNG and SVG)",
        "wrote {count} QR codes to {out} (PNG and SVG)",
        len(labels),
    )
    print(wrote.format(count=len(labels), out=args.out))
    if sheet is not None:
        sheet.save(args.out / SHEET_NAME)
        pages = ngettext("{count} page", "{count} pages", sheet.pages).format(count=sheet.pages)
        codes = ngettext("{count} code", "{count} codes", sheet.count).format(count=sheet.count)
        print(f"wrote {args.out / SHEET_NAME} ({pages}, {codes})")
    return 0
