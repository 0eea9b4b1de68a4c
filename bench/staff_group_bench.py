"""Benchmark: how many reports a minute reach the moderators under Telegram's 20 messages a
minute per group (issue 15, item 3).

    .venv/bin/python -m bench.staff_group_bench [--reports 40]

`--reports` reports, each with one photo and no voice note, are queued for the staff group at
once; the bot (in this process, against the emulator with Telegram's limits on) delivers their
cards. Two runs side by side: "before", the old shape (the photo, then the card as a text
message answering it: two of the group's 20 messages a minute), forced by OLD_SHAPE below; and
"now", the photo with the card as its caption (one message). Each measures the time until every
card is in the group, the reports per minute that makes (overall, and after the group's first
burst of 20 messages), the group messages spent and the 429s the emulator answered.
Results: bench/results/staff_group.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bench.common import machine_info, write_results
from bot.app.runner import BotRunner
from bot.channels import telegram
from bot.core.services import Services
from bot.core.settings import Settings
from bot.outbox.queue import Kind, enqueue
from emulator import BotApiEmulator
from handlers import register_handlers
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, Report, ReportPhoto
from storage.queries import media
from storage.text import fold_text

STAFF_CHAT = -1001000000777
GROUP_PER_MINUTE = 20
# True forces the old shape (photo, then text card) for the "before" run; the bench's switch only.
OLD_SHAPE = False

_caption_card = telegram._send_caption_card


async def _maybe_caption_card(*args: Any, **kwargs: Any) -> telegram.PostedCard | None:
    if OLD_SHAPE:
        return None
    return await _caption_card(*args, **kwargs)


telegram._send_caption_card = _maybe_caption_card  # type: ignore[assignment]


def _photo(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (n % 256, (7 * n) % 256, 90)).save(out, format="JPEG")
    return out.getvalue()


async def seed(services: Services, reports: int) -> None:
    """`reports` reports waiting for review, each with its own photo, their cards queued."""
    db = services.db
    async with db.write() as session:
        agency = Agency(code="bench-agency", names={"en": "Bench agency"})
        session.add(agency)
        await session.flush()
        commitment = Commitment(
            code="BENCH-1",
            titles={"en": "Bench road"},
            agency_id=agency.id,
            search_text=fold_text("BENCH-1 Bench road"),
        )
        session.add(commitment)
        citizen = Citizen(telegram_user_id=8_200_000, language="en")
        session.add(citizen)
        await session.flush()
        now = services.clock()
        for n in range(reports):
            data = _photo(n)
            sha = hashlib.sha256(data).hexdigest()
            await media.store(session, sha, "image/jpeg", 64, 48, data, now)
            report = Report(
                reference=f"CW-B{n:05d}",
                commitment_id=commitment.id,
                citizen_id=citizen.id,
                kind="problem",
                text=f"Report {n}: the drainage channel beside the market is blocked again.",
                language="en",
                status="pending_review",
            )
            session.add(report)
            await session.flush()
            session.add(
                ReportPhoto(
                    report_id=report.id,
                    position=0,
                    telegram_file_id=f"bench-{n}",
                    telegram_file_unique_id=f"bench-u-{n}",
                    size=len(data),
                    content_sha256=sha,
                )
            )
            await enqueue(
                session, Kind.MODERATION_CARD, str(report.id), {"report_id": report.id}, now
            )


async def run(reports: int, old_shape: bool) -> dict[str, Any]:
    global OLD_SHAPE
    OLD_SHAPE = old_shape
    emulator = BotApiEmulator()  # Telegram's limits on: 20 messages a minute in a group
    await emulator.start()
    token = emulator.create_bot(username="staff_group_bench_bot")
    moderator = emulator.add_user(8_300_000, "Moderator", language_code="en")
    group = emulator.add_group(STAFF_CHAT, "Staff", admins=[moderator])
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'staff.db'}")
        await upgrade_to_head(db)
        settings = Settings(
            telegram_bot_token=token,
            telegram_api_base_url=emulator.base_url,
            telegram_file_base_url=emulator.base_file_url,
            database_url=db.url,
            moderator_chat_id=STAFF_CHAT,
        )
        services = Services(settings=settings, db=db)
        runner = BotRunner(services, token, register_handlers, poll_timeout=1)
        await runner.start()
        try:
            before = len(emulator.calls)
            started = time.perf_counter()
            await seed(services, reports)
            services.outbox_bell.set()
            arrived: list[float] = []  # when each card reached the group
            limit = reports * 2 * 60 / GROUP_PER_MINUTE + 120
            while len(arrived) < reports and time.perf_counter() - started < limit:
                await asyncio.sleep(0.25)  # a benchmark's polling, not a test's wait
                cards = sum(
                    1 for m in group.messages if "Commitment:" in (m.text or m.caption or "")
                )
                arrived.extend([time.perf_counter() - started] * (cards - len(arrived)))
            seconds = time.perf_counter() - started
            calls = emulator.calls[before:]
            messages = len(group.messages)
        finally:
            await runner.stop()
            await db.dispose()
            await emulator.stop()
    per_card = messages / max(1, len(arrived))
    # After the group's first burst of 20 messages: the steady rate the limit allows.
    burst_cards = int(GROUP_PER_MINUTE / per_card)
    steady = None
    if len(arrived) > burst_cards + 1:
        span = arrived[-1] - arrived[burst_cards - 1]
        steady = round((len(arrived) - burst_cards) / span * 60, 1) if span > 0 else None
    return {
        "shape": "photo, then text card" if old_shape else "photo with the card as caption",
        "reports": reports,
        "cards_in_group": len(arrived),
        "group_messages": messages,
        "messages_per_report": round(per_card, 2),
        "seconds_until_all_cards": round(seconds, 1),
        "reports_per_minute": round(len(arrived) / seconds * 60, 1),
        "reports_per_minute_after_first_burst": steady,
        "answers_429": sum(1 for c in calls if c.status == 429),
        "edit_or_send_calls": sum(
            1 for c in calls if c.method.startswith(("send", "edit")) and c.status == 200
        ),
    }


async def compare(reports: int) -> dict[str, Any]:
    before = await run(reports, old_shape=True)
    print("before", before)
    now = await run(reports, old_shape=False)
    print("now", now)
    return {
        "machine": machine_info(),
        "group_limit_per_minute": GROUP_PER_MINUTE,
        "runs": {"before": before, "now": now},
        "ratio_reports_per_minute": round(
            now["reports_per_minute"] / before["reports_per_minute"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=40)
    args = parser.parse_args()
    results = asyncio.run(compare(args.reports))
    path = write_results("staff_group", results)
    print(json.dumps(results, indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
