"""The foundation through the emulator: commands answered, per-user order, concurrency between
users, Telegram's 429 honoured, the command menu, and a token that never reaches the logs."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from emulator import BotApiEmulator
from storage.models import Citizen, Draft
from tests.support.conversation import expect, text_of
from tests.support.flows import open_report
from tests.support.harness import Harness

ROOT = Path(__file__).resolve().parent.parent


def solid_png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, 255 - shade, 90)).save(out, format="PNG")
    return out.getvalue()


async def test_start_and_help_are_answered(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start")
    notice = await expect(citizen, "Welcome to Commitment Watch", "privacy")
    assert notice.buttons == ["✅ I agree", "🌐 Language"]
    await citizen.send_command("help")
    help_message = await expect(citizen, "/report")
    assert "/myreports" in text_of(help_message) and "/status" in text_of(help_message)


async def test_command_menu_is_published(harness: Harness) -> None:
    commands = harness.emulator.commands()
    assert {c["command"] for c in commands} >= {"report", "myreports", "status", "cancel", "help"}
    assert all(c["description"] for c in commands)


async def test_one_users_updates_in_order_while_others_proceed(harness: Harness) -> None:
    emulator = harness.emulator
    amina, bola = harness.user("en"), harness.user("en")
    await open_report(amina)
    await amina.send_text("Potholes all along the road near the market.")
    await expect(amina, "Where is it?")
    await amina.press_reply_button("➡️ Continue without location")
    await expect(amina, "Add photos")

    # Amina's first photo download hangs for a while; her later photos queue behind it.
    since = len(emulator.calls)
    emulator.faults.set(rate=1.0, kinds={"slow"}, methods={"getFile"}, slow_seconds=2.0, limit=1)
    shades = [10, 60, 110, 160, 210]
    sent = [await amina.send_photo(solid_png(shade)) for shade in shades]
    await emulator.wait_for_call("getFile", predicate=lambda c: c.fault == "slow", since=since)
    # Meanwhile Bola is answered: his update does not wait for Amina's.
    await bola.send_command("help")
    await expect(bola, "/report")
    calls_when_bola_answered = len(emulator.calls)
    await expect(amina, "5 photos added", timeout=20)

    photo_added_at = next(
        (
            i
            for i, call in enumerate(emulator.calls)
            if i >= since
            and call.method == "sendMessage"
            and str(call.params.get("chat_id")) == str(amina.id)
            and "photo added" in str(call.params.get("text"))
        ),
        None,
    )
    assert photo_added_at is not None, [
        c for c in emulator.calls[since:] if c.method == "sendMessage"
    ]
    assert calls_when_bola_answered <= photo_added_at, "Bola waited for Amina"

    async with harness.db.read() as session:
        citizen = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == amina.id))
        assert citizen is not None
        draft = await session.get(Draft, citizen.id)
    assert draft is not None
    sent_ids = [update["message"]["photo"][-1]["file_unique_id"] for update in sent]
    assert [p["unique_id"] for p in draft.data["photos"]] == sent_ids, "photos kept in order"


async def test_429_is_honoured_without_losing_the_message(harness: Harness) -> None:
    emulator = harness.emulator
    emulator.limits.per_chat_burst = 1
    emulator.limits.per_chat_per_second = 1.0
    emulator.reset_rate_limits()
    citizen = harness.user("en")
    since = len(emulator.calls)
    # An unknown code: "I do not know..." and the privacy notice, two messages at once.
    await citizen.send_command("start", "c_NOT-A-CODE")
    await expect(citizen, "I do not know the commitment")
    await expect(citizen, "privacy", timeout=15)
    sends = [c for c in emulator.calls[since:] if c.method == "sendMessage"]
    limited = [c for c in sends if c.status == 429]
    assert limited, "the emulator should have answered 429 to the second message"
    retry_after = int((limited[0].description or "").rsplit(" ", 1)[-1])
    retried = sends[sends.index(limited[0]) + 1]
    assert retried.status == 200 and retried.at - limited[0].at >= retry_after, "waited it out"
    texts = [text_of(m) for m in citizen.messages]
    assert sum("privacy" in t for t in texts) == 1, "the message is delivered exactly once"


async def test_token_never_reaches_the_logs(emulator: BotApiEmulator, tmp_path: Path) -> None:
    token = emulator.create_bot(username="log_check_bot")
    citizen = emulator.add_user(user_id=777_001, first_name="Log", language_code="en")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/log.db",
        "LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await citizen.send_command("start")
        await expect(citizen, "privacy", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    logs = (stdout + stderr).decode()
    assert "polling for updates" in logs
    assert token not in logs
    assert token.split(":")[1] not in logs
    assert "<redacted-token>" in logs  # PTB logs its API URL at DEBUG; the token was masked
    assert process.returncode == 0
