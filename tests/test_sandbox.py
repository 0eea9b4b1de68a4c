"""`run_bot.py --sandbox`: a person chats with the real bot offline, from the terminal."""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonPollType,
    ReplyKeyboardMarkup,
)

from bot.app.sandbox import MADE_UP_PHONE, Sandbox, TypedLines
from emulator import BotApiEmulator
from emulator.state import Signal
from tests.support.conversation import REFERENCE

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "> "
MODERATOR_PROMPT = "🛡 moderator> "


class Terminal:
    """The sandbox in a subprocess, typed into and read like a terminal."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""
        self.cursor = 0  # how far the screen has been read by wait_for
        self._decoder = codecs.getincrementaldecoder("utf-8")()  # a chunk may end mid-character

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def wait_for(self, *fragments: str, timeout: float = 30.0) -> str:
        """The screen from where reading stopped until every fragment has appeared (any order)."""
        assert self.process.stdout is not None
        start = self.cursor

        def ends() -> list[int]:
            found = [self.screen.find(fragment, start) for fragment in fragments]
            return (
                [] if -1 in found else [at + len(f) for at, f in zip(found, fragments, strict=True)]
            )

        async def read() -> None:
            while not ends():
                chunk = await self.process.stdout.read(4096)
                if not chunk:
                    raise AssertionError(f"sandbox ended before {fragments!r}:\n{self.screen}")
                self.screen += self._decoder.decode(chunk)

        try:
            await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {fragments!r} on screen:\n{self.screen[-3000:]}") from None
        self.cursor = max(ends())
        return self.screen[start : self.cursor]

    async def steps(self, *steps: tuple[str, str]) -> None:
        """Type each line and wait for what it should bring."""
        for typed, expected in steps:
            await self.type(typed)
            await self.wait_for(expected)

    async def reference(self) -> str:
        """The reference of the report the bot has just received."""
        await self.wait_for("Reference:")
        found = REFERENCE.search(await self.wait_for("\n"))
        assert found, self.screen[-500:]
        return found.group(0)

    async def started(self) -> None:
        await self.wait_for("QR code.\n" + PROMPT)

    async def answer(self, line: str) -> str:
        """The sandbox's own answer to a typed line, when the bot is quiet: exactly one line."""
        await self.type(line)
        screen = await self.wait_for(PROMPT)
        head = screen.rsplit(PROMPT, 1)[0].removesuffix(MODERATOR_PROMPT.removesuffix(PROMPT))
        lines = [text for text in head.splitlines() if text.strip()]
        assert len(lines) == 1, f"{line!r} was answered with {lines}"
        return lines[0].strip()

    async def exit_status(self) -> int:
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), 30)
        self.screen += self._decoder.decode(rest, final=True)
        status = await asyncio.wait_for(self.process.wait(), 30)
        assert "Traceback" not in self.screen, self.screen[-3000:]
        return status


async def open_terminal(cwd: Path) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.pop("MODERATOR_CHAT_ID", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "--sandbox",
        "--env-file",
        str(cwd / "none.env"),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return Terminal(process)


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Terminal]:
    terminal = await open_terminal(tmp_path)
    yield terminal
    if terminal.process.returncode is None:
        terminal.process.kill()
    await asyncio.wait_for(terminal.process.wait(), 30)


async def test_sandbox_chats_offline_without_a_token(terminal: Terminal, tmp_path: Path) -> None:
    await terminal.wait_for("you are a citizen")
    await terminal.steps(
        ("/start c_SAV-RD-001", "[1] ✅ I agree"),
        (":press 1", "What kind of feedback"),
        (":press ⚠️ A problem", "Describe what you see"),
    )
    await terminal.type("The new drainage is already blocked with sand.")
    await terminal.wait_for(
        "Where is it?", "keyboard: 📍 Share my location | ➡️ Continue without location"
    )
    photo = tmp_path / "site.png"
    Image.new("RGB", (32, 32), (10, 200, 10)).save(photo)
    await terminal.steps(
        (":loc 10.5725 7.4405", "Add photos"),
        (f":photo {photo}", "1 photo added"),
        (":press nonsense", "no button"),
        (":press 1", "Your report"),
    )
    await terminal.type(":press ✅ Send report")
    assert (await terminal.reference()).startswith("CW-")
    await terminal.type(":quit")
    assert await terminal.exit_status() == 0


async def test_location_button_labels_and_files_as_a_person_types_them(
    terminal: Terminal, tmp_path: Path
) -> None:
    await terminal.started()
    # Labels without their emoji, in any case; a unique start is enough.
    await terminal.steps(
        ("/start c_SAV-RD-001", "[1] ✅ I agree\n"), (":press I AGREE", "What kind of feedback")
    )
    await terminal.wait_for(PROMPT)
    ambiguous = await terminal.answer(":press a")
    assert "could be [1] ⚠️ A problem, [4] ❓ A question" in ambiguous
    await terminal.steps(
        (":press a problem", "Describe what you see"),
        ("The new drainage is already blocked with sand.", "keyboard: 📍 Share my location"),
    )
    await terminal.wait_for(PROMPT)
    unknown = await terminal.answer(":reply share my phone")
    assert unknown == (
        "no button 'share my phone'; choices: [1] 📍 Share my location, "
        "[2] ➡️ Continue without location"
    )

    # The button the prompt names asks for coordinates, offering the commitment's point.
    await terminal.type(":reply 📍 Share my location")
    question = await terminal.wait_for("> ")
    assert "type LATITUDE LONGITUDE, or press Enter for SAV-RD-001's point (10.5720 7.4400)" in (
        question
    )
    await terminal.steps(
        ("north of the bridge", "not a location: 'north of the bridge'"),
        (":reply share my location", "press Enter for SAV-RD-001's point"),
        ("", "Location saved"),
    )
    await terminal.wait_for("Add photos")
    await terminal.wait_for(PROMPT)

    # Not an image, or no file at all: one line, and the chat goes on.
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a photo")
    assert "is not an image" in await terminal.answer(f":photo {text_file}")
    assert "cannot read" in await terminal.answer(f":photo {tmp_path / 'missing.jpg'}")
    # A JPEG sent as a file travels as one: a document of type image/jpeg, taken as a photo.
    jpeg = tmp_path / "my site.jpg"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(jpeg, format="JPEG")
    await terminal.type(f":file {jpeg}")
    await terminal.wait_for("1 photo added")
    await terminal.type(":quit")
    assert await terminal.exit_status() == 0


async def test_every_mistake_is_one_line_and_the_sandbox_goes_on(terminal: Terminal) -> None:
    await terminal.started()
    mistakes = {
        ":frobnicate": "unknown sandbox command :frobnicate; type :help",
        ":": "unknown sandbox command :; type :help",
        ":press": "no message with buttons here yet",
        ":reply": "no reply keyboard is shown now",
        ":loc": "usage: :loc LATITUDE LONGITUDE",
        ":loc ten seven": "usage: :loc LATITUDE LONGITUDE",
        ":loc 100 200": "usage: :loc LATITUDE LONGITUDE",
        ":photo": "usage: :photo PATH",
        ":file": "usage: :file PATH",
        ':photo "unclosed': "cannot read",
        ":photo .": "cannot read .",
        ":as": "usage: :as moderator | :as citizen",
        ":as mayor": "usage: :as moderator | :as citizen",
        ":as citizen": "you are the citizen already",
        "   ": "Telegram sends no message of only spaces",
    }
    for typed, expected in mistakes.items():
        assert expected in await terminal.answer(typed), typed
    await terminal.type("/start")
    await terminal.wait_for("[1] ✅ I agree\n")
    await terminal.wait_for(PROMPT)
    for typed, expected in {
        ":press 9": "no button 9; choices: [1] ✅ I agree, [2] 🌐 Language",
        ":press 0": "no button 0; choices:",
        ":press I don't": 'no button "I don\'t"; choices:',
    }.items():
        assert expected in await terminal.answer(typed), typed
    await terminal.type(":press 1")
    await terminal.wait_for("Thank you")
    await terminal.type(":quit")
    assert await terminal.exit_status() == 0


async def test_help_lists_every_command(terminal: Terminal) -> None:
    await terminal.started()
    await terminal.type(":help")
    screen = await terminal.wait_for("Messages in the staff group are marked")
    for command in (
        ":press",
        ":reply",
        ":loc",
        ":photo",
        ":file",
        ":voice",
        ":as",
        ":help",
        ":quit",
    ):
        assert f"\n  {command} " in screen, command
    await terminal.type(":quit")
    assert await terminal.exit_status() == 0


async def test_ctrl_c_and_ctrl_d_leave_cleanly(tmp_path: Path) -> None:
    first = await open_terminal(tmp_path)
    await first.started()
    await first.steps(("/start", "[1] ✅ I agree\n"), (":press 1", "Thank you"))
    await first.wait_for(PROMPT)
    first.process.send_signal(signal.SIGINT)
    assert await first.exit_status() == 0
    assert "Leaving the sandbox." in first.screen

    # Shut down properly: the next start finds the consent the first one stored.
    second = await open_terminal(tmp_path)
    await second.started()
    await second.steps(("/start c_SAV-RD-001", "What kind of feedback"))
    await second.wait_for(PROMPT)
    assert second.process.stdin is not None
    second.process.stdin.close()
    assert await second.exit_status() == 0
    assert "Leaving the sandbox." in second.screen

    # Ctrl-C while the sandbox asks a question of its own leaves just as cleanly.
    third = await open_terminal(tmp_path)
    await third.started()
    await third.steps(
        ("/start c_SAV-RD-001", "[1] ⚠️ A problem"),
        (":press a problem", "Describe what you see"),
        ("The drainage channel is blocked with sand again.", "Where is it?"),
        (":reply share my location", "press Enter for SAV-RD-001's point"),
    )
    third.process.send_signal(signal.SIGINT)
    assert await third.exit_status() == 0


async def test_the_sandbox_plays_a_moderator_in_the_staff_group(terminal: Terminal) -> None:
    await terminal.started()
    await terminal.steps(
        ("/start c_SAV-HC-004", "[1] ✅ I agree\n"),
        (":press i agree", "What kind of feedback"),
        (":press a question", "Describe what you see"),
        ("When will the clinic open its maternity ward?", "Where is it?"),
        (":reply continue", "Add photos"),
        (":press skip", "Your report"),
    )
    await terminal.type(":press send report")
    # The report reaches the staff group, shown as the staff group's (before or after the
    # citizen's receipt: the two chats are independent).
    screen = await terminal.wait_for("Reference: CW-", "waiting for review\n", "[1] ✅ Approve")
    found = REFERENCE.search(screen)
    assert found, screen
    reference = found.group(0)
    assert f"\n👥 staff group · 🤖 {reference} · received, waiting for review" in screen, screen

    await terminal.type(":as moderator")
    await terminal.wait_for("you are now a moderator", MODERATOR_PROMPT)
    # A prompt that asks for a reply gets the next typed line as its reply, as a client does.
    await terminal.type(":press ask the citizen")
    await terminal.wait_for("reply to this message with your question")
    await terminal.type("Which building do you mean?")
    await terminal.wait_for(
        f"👥 staff group · 🤖 ❓ Your question about {reference} was sent",
        "\n🤖 ❓ A moderator has a question",  # in the citizen's chat
    )
    await terminal.type(":press approve")
    # The card is redrawn in the staff group, the citizen is told in their chat.
    await terminal.wait_for("👥 staff group · 🤖 (edited) ", "\n🤖 ✅ Your report " + reference)
    await terminal.type(":as citizen")
    await terminal.wait_for("the citizen again")
    await terminal.type("/status " + reference)
    await terminal.wait_for("\n🤖 ")
    await terminal.type(":quit")
    assert await terminal.exit_status() == 0


# -- buttons the bot does not show today, pressed in the sandbox against the emulator ----------


@pytest.fixture
async def sandbox(emulator: BotApiEmulator) -> AsyncIterator[tuple[Sandbox, Bot, TypedLines]]:
    token = emulator.create_bot(username="sandbox_probe_bot")
    citizen = emulator.add_user(5001, "You")
    lines = TypedLines()
    async with Bot(token, base_url=emulator.base_url) as bot:
        yield Sandbox(emulator, citizen, lines), bot, lines


async def test_reply_buttons_that_share_a_contact_a_typed_point_or_open_a_picker(
    sandbox: tuple[Sandbox, Bot, TypedLines], capsys: pytest.CaptureFixture[str]
) -> None:
    chat, bot, lines = sandbox
    keyboard = ReplyKeyboardMarkup(
        [
            [KeyboardButton("📞 Share my phone number", request_contact=True)],
            [KeyboardButton("📍 Send my location", request_location=True)],
            [KeyboardButton("📊 Make a poll", request_poll=KeyboardButtonPollType())],
        ]
    )
    await bot.send_message(5001, "Choose", reply_markup=keyboard)

    assert await chat.handle(":reply share my phone")
    assert MADE_UP_PHONE in capsys.readouterr().out
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.contact is not None
    assert update.message.contact.phone_number == MADE_UP_PHONE
    assert update.message.contact.user_id == 5001

    lines.put("10.61, 7.43")
    assert await chat.handle(":reply send my location")
    assert "type LATITUDE LONGITUDE, or Enter to cancel" in capsys.readouterr().out
    (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert update.message is not None and update.message.location is not None
    assert (update.message.location.latitude, update.message.location.longitude) == (10.61, 7.43)

    lines.put("")  # no commitment to offer: Enter sends nothing
    assert await chat.handle(":reply 📍 send my location")
    assert await chat.handle(":reply make a poll")
    out = capsys.readouterr().out
    assert "no location sent" in out
    assert "'📊 Make a poll' asks you to create a poll; the sandbox cannot do that" in out
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()

    lines.leave()  # Ctrl-C while the sandbox waits for coordinates: the sandbox ends
    assert await chat.handle(":reply send my location") is False


async def test_a_link_button_is_named_not_pressed(
    sandbox: tuple[Sandbox, Bot, TypedLines], capsys: pytest.CaptureFixture[str]
) -> None:
    chat, bot, _ = sandbox
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("🌐 Open the map", url="https://example.org/map")]]
    )
    await bot.send_message(5001, "The map", reply_markup=markup)
    assert await chat.handle(":press open the map")
    assert "opens a link https://example.org/map; the sandbox cannot follow it" in (
        capsys.readouterr().out
    )
    assert await bot.get_updates(timeout=0) == ()


async def test_a_reader_cancelled_as_a_message_arrives_stops() -> None:
    """The sandbox's exit cancels its readers; one cancelled just as the bot spoke must stop too
    (asyncio.wait_for on Python 3.11 swallowed that cancellation, and the sandbox never left)."""
    for turns in range(6):
        signal_, arrived = Signal(), asyncio.Event()
        reader = asyncio.create_task(signal_.wait_until(arrived.is_set, 3600))
        await asyncio.sleep(0)
        arrived.set()
        signal_.fire()
        for _ in range(turns):
            await asyncio.sleep(0)
        if not reader.cancel():
            continue  # it had returned already: nothing to stop
        done, _ = await asyncio.wait({reader}, timeout=2)
        assert done and reader.cancelled(), f"cancelled {turns} turns after the message, it went on"
