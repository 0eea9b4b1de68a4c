"""A screenshot of a commitment's scorecard, as a reader's browser shows it: the real web server
(the one `run_bot.py serve-web` runs) on a throwaway SQLite database holding a small demo world,
photographed by Chromium (tools/chromium.py), 1200 px wide.

    python -m tools.screenshot docs/commitment-page.png
    python -m tools.screenshot --lang ar /tmp/scorecard-ar.png

The demo world: the OGP commitments of Nigeria from the real OGP export's rows in
tests/data/ogp/ogp_sample.csv (with the IRM's assessment), and ten citizens' reports on NG0015,
participatory budgeting, answered by its agency over a few months (tools/planned_reports.py).
Nothing in it is a real report or a real person.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from playwright.async_api import async_playwright

from bot.admin.importer import import_file
from bot.channels.web.server import AgencyWebServer
from bot.core.services import Services
from bot.core.settings import PROJECT_ROOT, Settings
from bot.reports.references import ALPHABET
from storage.db import Database
from storage.migrate import upgrade_to_head
from tools.chromium import WIDTH, launch, missing
from tools.planned_reports import D, H, Planned, add_reports

OGP_ROWS = PROJECT_ROOT / "tests" / "data" / "ogp" / "ogp_sample.csv"
CODE = "NG0015"
COLOURS = 64


def demo_reports() -> list[Planned]:
    """Citizens' reports on participatory budgeting in the second half of 2022, and what the
    agency answered: nine of ten answered, six resolved, one reopened as not fixed, one closed
    without action, one still waiting; enough of each for the page to show every figure."""

    def on(month: int, day: int) -> datetime:
        return datetime(2022, month, day, 10, 0, tzinfo=UTC)

    def report(
        number: int,
        created: datetime,
        kind: str,
        text: str,
        *steps: tuple[str, timedelta, str | None],
        supporters: int = 0,
    ) -> Planned:
        published = created + 3 * H  # a moderator approved it
        history: list[tuple[str, datetime, str, str | None]] = [
            ("published", published, "moderator", None)
        ]
        for status, after, note in steps:
            actor = "citizen" if status == "reopened" else "official"
            history.append((status, published + after, actor, note))
        return Planned(
            f"CW-DEMQ2{ALPHABET[number]}",
            history[-1][0],
            tuple(history),
            text=text,
            created=created,
            place=None,
            supporters=supporters,
            kind=kind,
        )

    return [
        report(
            1,
            on(6, 2),
            "problem",
            "The call circular for the 2023 budget is not on the Budget Office website, so our "
            "association cannot send its inputs before the deadline.",
            (
                "acknowledged",
                5 * H,
                "Thank you. The call circular is now online, on the budget page.",
            ),
            ("resolved", 1 * D, None),
            supporters=7,
        ),
        report(
            2,
            on(6, 20),
            "question",
            "When is the public hearing on the budget proposal, and can people outside Abuja "
            "send written comments?",
            ("resolved", 2 * D, "Written comments are accepted by e-mail until the hearing."),
        ),
        report(
            3,
            on(7, 4),
            "problem",
            "The budget town hall in Kaduna was announced one day before it took place; few "
            "people could come.",
            ("acknowledged", 8 * H, None),
            (
                "resolved",
                3 * D,
                "Town halls will be announced two weeks ahead, on radio in Hausa and English.",
            ),
            supporters=12,
        ),
        report(
            4,
            on(7, 18),
            "problem",
            "The citizens' budget is said to be published, but the link on the portal gives an "
            "error page.",
            ("resolved", 12 * H, "The link is repaired."),
            ("reopened", 2 * D, None),
            supporters=4,
        ),
        report(
            5,
            on(8, 8),
            "stalled",
            "The budget performance report for the second quarter has not been released.",
            ("in_progress", 2 * D, "Ministries are sending their returns; release expected soon."),
        ),
        report(
            6,
            on(8, 29),
            "question",
            "Is the audit report for 2020 public, and where can it be read?",
            ("resolved", 6 * H, "The Auditor-General's 2020 report is on the OAuGF website."),
        ),
        report(
            7,
            on(9, 12),
            "problem",
            "Our ward asked for the health post's budget line to be shown by ward, not only by "
            "ministry.",
            ("no_action", 4 * D, "Not possible for this budget year; noted for the next one."),
        ),
        report(
            8,
            on(10, 3),
            "praise",
            "The pre-budget consultation in Zaria was well organised, with Hausa interpretation "
            "and time for questions.",
            ("acknowledged", 10 * H, "Thank you for taking part."),
            supporters=3,
        ),
        report(
            9,
            on(10, 24),
            "problem",
            "The approved budget was published as a scanned PDF that cannot be searched.",
            ("resolved", 5 * D, "A searchable version and the data in CSV are now online."),
            supporters=9,
        ),
        report(
            10,
            on(11, 14),
            "question",
            "Will the citizens' budget for 2023 also come in Hausa, Yoruba and Igbo?",
        ),
    ]


async def demo_world(db: Database) -> None:
    await upgrade_to_head(db)
    await import_file(db, OGP_ROWS, "auto", country="Nigeria")
    await add_reports(db, CODE, demo_reports())


async def photograph(lang: str) -> bytes:
    """The scorecard of CODE in `lang`, the whole page, as Chromium renders it."""
    with tempfile.TemporaryDirectory(prefix="cw-screenshot-") as scratch:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(scratch) / 'demo.db'}",
            web_listen="127.0.0.1",
            web_port=0,
            bot_username="CommitmentWatchBot",
            default_locale="en",
        )
        db = Database(settings.database_url)
        server = AgencyWebServer(Services(settings=settings, db=db), read_only=True)
        try:
            await demo_world(db)
            await server.start()
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                page = await browser.new_page(viewport={"width": WIDTH, "height": 900})
                url = f"http://127.0.0.1:{server.port}/commitments/{CODE}?lang={lang}"
                answer = await page.goto(url)
                assert answer is not None and answer.ok, (url, answer)
                shot = await page.screenshot(full_page=True)
                await browser.close()
        finally:
            await server.stop()
            await db.dispose()
    return shot


def save(png: bytes, out: Path) -> None:
    """The PNG in a palette of 64 colours, without dithering: the page is text on flat colours,
    so it looks the same at well under half the size."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    palette = image.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the PNG")
    parser.add_argument("--lang", default="en", help="the page's language (default: en)")
    args = parser.parse_args(argv)
    reason = missing()
    if reason is not None:
        print(reason, file=sys.stderr)
        return 1
    save(asyncio.run(photograph(args.lang)), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
