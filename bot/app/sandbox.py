"""`python run_bot.py --sandbox`: chat with the real bot offline, in this terminal.

The local Bot API emulator stands in for Telegram; the real bot runs against it with the demo
catalog in a sandbox database. You are a citizen: typed lines are messages, and a few commands
share a location, send a photo file or press a button.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from bot.admin.importer import import_file
from bot.app.application import HandlerRegistrar
from bot.app.runner import BotRunner
from bot.core.services import Services
from bot.core.settings import PROJECT_ROOT, Settings
from emulator import BotApiEmulator, BotMessage, SimulatedUser
from storage.db import Database
from storage.migrate import upgrade_to_head

DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo_catalog.yaml"
SANDBOX_DB = Path("data") / "sandbox.db"  # under the working directory, like the bot's own
SANDBOX_USER_ID = 424242

HELP = """\
Sandbox commands (anything else is sent to the bot as a message):
  :press LABEL        press an inline button by its label (or its number, e.g. :press 2)
  :reply LABEL        press a reply-keyboard button (e.g. the "no location" one)
  :loc LAT LON        share a location, e.g. :loc 10.5725 7.4405 (near SAV-RD-001)
  :photo PATH         send a photo file (JPEG, PNG, WebP)
  :file PATH          send any file as a document
  :voice              send a short voice note
  :help               show this help
  :quit               leave the sandbox
"""


def render(message: BotMessage) -> str:
    """A bot message as a person would read it, with its buttons numbered."""
    marker = "🤖 (edited) " if message.edited else "🤖 "
    lines = [f"\n{marker}{message.text or message.caption or '[' + message.kind + ']'}"]
    for number, label in enumerate(message.buttons, start=1):
        lines.append(f"   [{number}] {label}")
    if message.reply_keyboard:
        lines.append("   keyboard: " + " | ".join(message.reply_keyboard))
    return "\n".join(lines)


async def _print_bot_messages(user: SimulatedUser) -> None:
    while True:
        try:
            message = await user.next_message(timeout=3600)
        except TimeoutError:
            continue
        print(render(message), flush=True)
        print("> ", end="", flush=True)


async def _read_line() -> str | None:
    line = await asyncio.to_thread(sys.stdin.readline)
    return None if line == "" else line.rstrip("\n")


def _read_file(typed: str) -> tuple[Path, bytes]:
    path = Path(typed).expanduser()
    return path, path.read_bytes()


async def _send(user: SimulatedUser, line: str) -> bool:
    """Act on one typed line; False means quit."""
    if not line.startswith(":"):
        if line.strip():
            await user.send_text(line)
        return True
    command, _, rest = line[1:].partition(" ")
    args = shlex.split(rest) if rest else []
    match command:
        case "quit" | "q":
            return False
        case "help":
            print(HELP)
        case "press":
            label = " ".join(args)
            last = next((m for m in reversed(user.messages) if m.buttons), None)
            if label.isdigit() and last is not None and 0 < int(label) <= len(last.buttons):
                label = last.buttons[int(label) - 1]
            try:
                await user.press_button(label)
            except LookupError as error:
                print(f"  {error}")
        case "reply":
            try:
                await user.press_reply_button(" ".join(args))
            except LookupError as error:
                print(f"  {error}")
        case "loc":
            try:
                await user.send_location(float(args[0]), float(args[1]))
            except (IndexError, ValueError):
                print("  usage: :loc LATITUDE LONGITUDE")
        case "photo" | "file":
            try:
                path, data = await asyncio.to_thread(_read_file, " ".join(args))
            except OSError as error:
                print(f"  cannot read {' '.join(args)}: {error.strerror}")
            else:
                if command == "photo":
                    await user.send_photo(data)
                else:
                    await user.send_document(data, file_name=path.name)
        case "voice":
            await user.send_voice(b"OggS" + bytes(64), duration=3)
        case _:
            print(f"  unknown sandbox command :{command}; type :help")
    return True


async def _load_demo_catalog(db: Database) -> None:
    # Idempotent: a second start of the sandbox finds everything unchanged.
    await import_file(db, DEMO_CATALOG)


async def run_sandbox(settings: Settings, register_handlers: HandlerRegistrar) -> int:
    emulator = BotApiEmulator()
    await emulator.start()
    token = emulator.create_bot(username="commitment_watch_sandbox_bot")
    # Never the deployment's database: the sandbox keeps its own file under ./data.
    database_url = f"sqlite+aiosqlite:///{SANDBOX_DB.resolve()}"
    sandbox_settings = replace(
        settings,
        telegram_bot_token=token,
        telegram_api_base_url=emulator.base_url,
        telegram_file_base_url=emulator.base_file_url,
        database_url=database_url,
        bot_username="commitment_watch_sandbox_bot",
        webhook_url=None,
    )
    database = Database(database_url)
    await upgrade_to_head(database)
    await _load_demo_catalog(database)
    runner = BotRunner(
        Services(sandbox_settings, database), token, register_handlers, poll_timeout=1
    )
    await runner.start()
    user = emulator.add_user(user_id=SANDBOX_USER_ID, first_name="You", language_code=None)
    printer = asyncio.create_task(_print_bot_messages(user))
    print("Commitment Watch sandbox: you are a citizen chatting with the bot, offline.")
    print(HELP)
    print("Try /start, or /start c_SAV-RD-001 to open a report from a signboard's QR code.")
    print("> ", end="", flush=True)
    try:
        while (line := await _read_line()) is not None:
            if not await _send(user, line):
                break
    finally:
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer
        await runner.stop()
        await database.dispose()
        await emulator.stop()
    return 0
