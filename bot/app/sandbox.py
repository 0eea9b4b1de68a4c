"""`python run_bot.py --sandbox`: chat with the real bot offline, in this terminal.

The local Bot API emulator stands in for Telegram; the real bot runs against it with the demo
catalog in a sandbox database. You are a citizen: typed lines are messages, and a few commands
share a location, send a photo file or press a button. The sandbox also has a staff group, whose
messages are shown marked as such, and `:as moderator` makes you its moderator (an administrator
of that group in the emulator), so you can follow a report from the citizen to the staff and back.
Every mistake in a command is answered with one line; Ctrl-C, Ctrl-D and `:quit` leave cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import shlex
import signal
import sys
import threading
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.admin.importer import import_file
from bot.app.application import HandlerRegistrar
from bot.app.runner import BotRunner
from bot.core.services import Services
from bot.core.settings import PROJECT_ROOT, Settings
from emulator import BotApiEmulator, BotMessage, SimulatedGroup, SimulatedUser
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.queries import citizens, commitments, drafts

DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo_catalog.yaml"
SANDBOX_DB = Path("data") / "sandbox.db"  # under the working directory, like the bot's own
SANDBOX_BOT = "commitment_watch_sandbox_bot"
SANDBOX_USER_ID = 424242
SANDBOX_MODERATOR_ID = 424243
STAFF_CHAT_ID = -1001000424242  # a supergroup, as staff groups are
STAFF_TITLE = "Commitment Watch staff (sandbox)"
MADE_UP_PHONE = "+15550100"  # what a contact button shares in the sandbox

CITIZEN, MODERATOR = "citizen", "moderator"
STAFF_MARK = "👥 staff group · "
MODERATOR_CHAT_MARK = "🛡 moderator's chat · "

# Inline buttons the sandbox cannot press, by the field that makes them what they are.
_INLINE_ELSEWHERE = {
    "url": "opens a link",
    "login_url": "logs in on a website",
    "web_app": "opens a web app",
    "switch_inline_query": "starts an inline query",
    "switch_inline_query_current_chat": "starts an inline query",
    "switch_inline_query_chosen_chat": "starts an inline query",
    "copy_text": "copies a text",
    "callback_game": "starts a game",
    "pay": "starts a payment",
}
# Reply-keyboard buttons that open a picker the sandbox does not have.
_REPLY_ELSEWHERE = {
    "request_users": "asks you to pick users",
    "request_chat": "asks you to pick a chat",
    "request_poll": "asks you to create a poll",
    "web_app": "opens a web app",
}


class TypedLines:
    """What the person types, one line at a time; None once they leave (EOF, Ctrl-C)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._left = False

    def put(self, line: str | None) -> None:
        self._queue.put_nowait(line)

    def leave(self) -> None:
        """Ctrl-C: whatever was typed ahead is dropped, the next read says 'gone'."""
        self._left = True
        self._queue.put_nowait(None)

    async def next(self) -> str | None:
        if self._left:
            return None
        line = await self._queue.get()
        return None if self._left else line

    def read_stdin(self) -> None:
        """Feed stdin into the queue from a daemon thread, which never holds up the exit."""
        loop = asyncio.get_running_loop()

        def pump() -> None:
            while True:
                line = sys.stdin.readline()
                try:
                    loop.call_soon_threadsafe(self.put, line.rstrip("\n") if line else None)
                except RuntimeError:  # the loop is closed: the sandbox has ended
                    return
                if not line:
                    return

        threading.Thread(target=pump, name="sandbox-stdin", daemon=True).start()


def plain(label: str) -> str:
    """A label as typed: emoji, variation selectors and joiners dropped, case folded."""
    kept = "".join(
        " " if unicodedata.category(char) in ("So", "Sk", "Me", "Cf") else char
        for char in unicodedata.normalize("NFC", label)
        if char not in "\ufe0e\ufe0f"
    )
    words = kept.casefold().split()
    # Quotes around a copied label ("«📍 Share my location»") do not count either.
    return " ".join(words).strip("\"'«»“”‘’„ ")


def choose(typed: str, labels: list[str]) -> int:
    """The index of the button `typed` names: its number, its label, or a unique start of it.

    Raises LookupError with one line that lists the choices.
    """
    choices = ", ".join(f"[{number}] {label}" for number, label in enumerate(labels, start=1))
    typed = typed.strip()
    if not typed:
        raise LookupError(f"which button? choices: {choices}")
    if typed.isdigit():
        if 0 < int(typed) <= len(labels):
            return int(typed) - 1
        raise LookupError(f"no button {typed}; choices: {choices}")
    wanted = plain(typed)
    for matches in (
        [i for i, label in enumerate(labels) if label == typed],
        [i for i, label in enumerate(labels) if plain(label) == wanted],
        [i for i, label in enumerate(labels) if wanted and plain(label).startswith(wanted)],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            which = ", ".join(f"[{i + 1}] {labels[i]}" for i in matches)
            raise LookupError(f"{typed!r} could be {which}: type more of the label, or its number")
    raise LookupError(f"no button {typed!r}; choices: {choices}")


def parse_point(text: str) -> tuple[float, float] | None:
    """ "10.57 7.44" or "10.57, 7.44" as (latitude, longitude), or None."""
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def _describe(message: BotMessage) -> str:
    body = message.text or message.caption or ""
    if message.kind == "media_group":
        count = len(message.items) or len(message.media)
        return f"[album of {count}] {body}".rstrip()
    if message.kind != "text":
        return f"[{message.kind}] {body}".rstrip()
    return body


def render(message: BotMessage, mark: str = "") -> str:
    """A bot message as a person would read it, with its buttons numbered."""
    marker = f"{mark}🤖 (edited) " if message.edited else f"{mark}🤖 "
    lines = [f"\n{marker}{_describe(message)}"]
    for number, label in enumerate(message.buttons, start=1):
        lines.append(f"   [{number}] {label}")
    if message.reply_keyboard:
        lines.append("   keyboard: " + " | ".join(message.reply_keyboard))
    return "\n".join(lines)


def _path_argument(rest: str) -> str:
    """One path, quoted or not: `:photo my photo.jpg` and `:photo "my photo.jpg"` both work."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = []
    return words[0] if len(words) == 1 else rest.strip()


def _read_file(typed: str) -> tuple[Path, bytes]:
    path = Path(typed).expanduser()
    return path, path.read_bytes()


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]
    usage: str
    help: str
    run: Callable[[Sandbox, str], Awaitable[bool | None]]  # False: leave the sandbox


class Sandbox:
    """The person at the terminal: a citizen, or (`:as moderator`) a moderator in the staff group."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        citizen: SimulatedUser,
        lines: TypedLines,
        *,
        moderator: SimulatedUser | None = None,
        staff: SimulatedGroup | None = None,
        database: Database | None = None,
    ) -> None:
        self.emulator = emulator
        self.citizen = citizen
        self.moderator = moderator
        self.staff = staff
        self.lines = lines
        self.database = database
        self.role = CITIZEN
        self._answered_prompts: set[tuple[int, int]] = set()

    # -- who and where ------------------------------------------------------------------------

    @property
    def acting(self) -> SimulatedUser:
        return self.moderator if self.role == MODERATOR and self.moderator else self.citizen

    @property
    def chat(self) -> SimulatedGroup | None:
        """Where typed lines go: None for the citizen's private chat, else the staff group."""
        return self.staff if self.role == MODERATOR else None

    def messages(self) -> list[BotMessage]:
        return self.chat.messages if self.chat is not None else self.citizen.messages

    # -- the terminal -------------------------------------------------------------------------

    @property
    def prompt_text(self) -> str:
        return "🛡 moderator> " if self.role == MODERATOR else "> "

    def prompt(self) -> None:
        print(self.prompt_text, end="", flush=True)

    def say(self, line: str) -> None:
        print(f"  {line}", flush=True)
        self.prompt()

    def show(self, message: BotMessage, mark: str = "") -> None:
        print(render(message, mark), flush=True)
        self.prompt()

    async def watch(self) -> None:
        """Print what the bot says in the citizen's chat, the staff group and the moderator's."""
        readers: list[tuple[SimulatedUser | SimulatedGroup, str]] = [(self.citizen, "")]
        if self.staff is not None:
            readers.append((self.staff, STAFF_MARK))
        if self.moderator is not None:
            readers.append((self.moderator, MODERATOR_CHAT_MARK))
        async with asyncio.TaskGroup() as group:
            for reader, mark in readers:
                group.create_task(self._print_from(reader, mark))

    async def _print_from(self, reader: SimulatedUser | SimulatedGroup, mark: str) -> None:
        while True:
            try:
                message = await reader.next_message(timeout=3600)
            except TimeoutError:
                continue
            self.show(message, mark)

    # -- one typed line -----------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means leave."""
        if not line.startswith(":") or line.startswith("::"):
            text = line[1:] if line.startswith("::") else line
            if text.strip():
                await self._send_text(text)
            elif line:
                self.say("Telegram sends no message of only spaces: type some words (or :help)")
            else:
                self.prompt()
            return True
        name, _, rest = line[1:].partition(" ")
        command = COMMANDS_BY_NAME.get(name.lower())
        if command is None:
            self.say(f"unknown sandbox command :{name}; type :help")
            return True
        return await command.run(self, rest.strip()) is not False

    async def _send_text(self, text: str) -> None:
        """A message; as a Telegram client does, it answers the bot's latest force-reply prompt."""
        prompt = self._open_prompt()
        if prompt is not None:
            self._answered_prompts.add((prompt.chat_id, prompt.message_id))
        await self.acting.send_text(text, chat=self.chat, reply_to=prompt)

    def _open_prompt(self) -> BotMessage | None:
        for message in reversed(self.messages()):
            if message.deleted or (message.chat_id, message.message_id) in self._answered_prompts:
                continue
            if (message.reply_markup or {}).get("force_reply"):
                return message
        return None

    async def ask(self, question: str) -> str | None:
        """A question of the sandbox's own; the answer is the next typed line."""
        print(f"  {question}", flush=True)
        print("  > ", end="", flush=True)
        return await self.lines.next()

    async def commitment_point(self) -> tuple[str, float, float] | None:
        """The code and point of the commitment the citizen is reporting on, if it has one."""
        if self.database is None:
            return None
        async with self.database.read() as session:
            citizen = await citizens.by_telegram_id(session, self.citizen.id)
            draft = await drafts.get(session, citizen.id) if citizen else None
            commitment_id = (draft.data or {}).get("commitment_id") if draft else None
            found = await commitments.by_id(session, commitment_id) if commitment_id else None
        if found is None or found.latitude is None or found.longitude is None:
            return None
        return found.code, found.latitude, found.longitude


# -- the commands ----------------------------------------------------------------------------


async def _quit(sandbox: Sandbox, rest: str) -> bool:
    return False


async def _help(sandbox: Sandbox, rest: str) -> None:
    print(HELP, end="", flush=True)
    sandbox.prompt()


async def _press(sandbox: Sandbox, rest: str) -> None:
    message = next((m for m in reversed(sandbox.messages()) if m.buttons and not m.deleted), None)
    if message is None:
        sandbox.say("no message with buttons here yet")
        return
    index = choose(rest, message.buttons)
    button = [b for row in (message.reply_markup or {})["inline_keyboard"] for b in row][index]
    elsewhere = next((what for key, what in _INLINE_ELSEWHERE.items() if key in button), None)
    if elsewhere is not None:
        target = button.get("url") or ""
        sandbox.say(
            f"{button['text']!r} {elsewhere} {target}; the sandbox cannot follow it".strip()
        )
        return
    if "callback_data" not in button:
        sandbox.say(f"{button['text']!r} is not a button the sandbox can press: {button}")
        return
    await sandbox.acting.send_callback(button["callback_data"], message, chat=sandbox.chat)


async def _reply(sandbox: Sandbox, rest: str) -> bool:
    if sandbox.chat is not None:
        sandbox.say("no reply keyboard in the staff group; :as citizen to use the citizen's")
        return True
    user = sandbox.citizen
    try:
        buttons = user.reply_keyboard_buttons()
    except LookupError:
        sandbox.say("no reply keyboard is shown now")
        return True
    button = buttons[choose(rest, [b.get("text", "") for b in buttons])]
    label = button.get("text", "")
    elsewhere = next((what for key, what in _REPLY_ELSEWHERE.items() if key in button), None)
    if elsewhere is not None:
        sandbox.say(f"{label!r} {elsewhere}; the sandbox cannot do that")
        return True
    if button.get("request_contact"):
        sandbox.say(f"{label!r} shares your phone number: sending a made-up one, {MADE_UP_PHONE}")
        await user.press_reply_button(label, phone_number=MADE_UP_PHONE)
        return True
    if not button.get("request_location"):
        await user.press_reply_button(label)
        return True
    known = await sandbox.commitment_point()
    if known is None:
        question = f"{label!r} shares your location: type LATITUDE LONGITUDE, or Enter to cancel"
    else:
        code, latitude, longitude = known
        question = (
            f"{label!r} shares your location: type LATITUDE LONGITUDE, or press Enter "
            f"for {code}'s point ({latitude:.4f} {longitude:.4f})"
        )
    answer = await sandbox.ask(question)
    if answer is None:
        return False
    if not answer.strip():
        if known is None:
            sandbox.say("no location sent")
            return True
        point = known[1], known[2]
    elif (parsed := parse_point(answer)) is None:
        sandbox.say(f"not a location: {answer.strip()!r} (e.g. 10.5725 7.4405); nothing sent")
        return True
    else:
        point = parsed
    await user.press_reply_button(label, location=point)
    return True


async def _location(sandbox: Sandbox, rest: str) -> None:
    point = parse_point(rest)
    if point is None:
        sandbox.say("usage: :loc LATITUDE LONGITUDE, e.g. :loc 10.5725 7.4405")
        return
    await sandbox.acting.send_location(*point, chat=sandbox.chat)


async def _file_argument(sandbox: Sandbox, rest: str, usage: str) -> tuple[Path, bytes] | None:
    typed = _path_argument(rest)
    if not typed:
        sandbox.say(f"usage: {usage}")
        return None
    try:
        path, data = await asyncio.to_thread(_read_file, typed)
    except OSError as error:
        sandbox.say(f"cannot read {typed}: {error.strerror or error}")
        return None
    if not data:
        sandbox.say(f"{typed} is empty: Telegram sends no empty files")
        return None
    return path, data


async def _photo(sandbox: Sandbox, rest: str) -> None:
    found = await _file_argument(sandbox, rest, ":photo PATH")
    if found is None:
        return
    path, data = found
    try:
        await sandbox.acting.send_photo(data, chat=sandbox.chat)
    except ValueError:
        sandbox.say(f"{path} is not an image Telegram can send as a photo; :file sends any file")


async def _file(sandbox: Sandbox, rest: str) -> None:
    found = await _file_argument(sandbox, rest, ":file PATH")
    if found is None:
        return
    path, data = found
    # As a Telegram client does: the type from the file's name.
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    await sandbox.acting.send_document(
        data, file_name=path.name, mime_type=mime_type, chat=sandbox.chat
    )


async def _voice(sandbox: Sandbox, rest: str) -> None:
    await sandbox.acting.send_voice(b"OggS" + bytes(64), duration=3, chat=sandbox.chat)


async def _as(sandbox: Sandbox, rest: str) -> None:
    role = rest.lower()
    if role not in (CITIZEN, MODERATOR):
        sandbox.say("usage: :as moderator | :as citizen")
        return
    if role == MODERATOR and (sandbox.moderator is None or sandbox.staff is None):
        sandbox.say("this sandbox has no staff group")
        return
    if role == sandbox.role:
        sandbox.say(f"you are the {role} already")
        return
    sandbox.role = role
    if role == MODERATOR:
        sandbox.say(
            f"you are now a moderator, an administrator of the staff group {STAFF_TITLE!r}: "
            "lines, :press and the rest go there; :as citizen to switch back"
        )
    else:
        sandbox.say("you are the citizen again, in your private chat with the bot")


COMMANDS: tuple[Command, ...] = (
    Command(
        ("press",),
        ":press LABEL",
        "press an inline button of the latest message that has some, by its label or number "
        "(:press 2); case and emoji do not matter, a unique start will do",
        _press,
    ),
    Command(
        ("reply",),
        ":reply LABEL",
        "press a reply-keyboard button (by label or number); a location button asks for "
        "coordinates, Enter takes the commitment's point",
        _reply,
    ),
    Command(
        ("loc",),
        ":loc LAT LON",
        "share a location, e.g. :loc 10.5725 7.4405 (near SAV-RD-001)",
        _location,
    ),
    Command(("photo",), ":photo PATH", "send an image file as a photo (JPEG, PNG, WebP)", _photo),
    Command(
        ("file",),
        ":file PATH",
        "send any file as a document (its type guessed from its name)",
        _file,
    ),
    Command(("voice",), ":voice", "send a short voice note", _voice),
    Command(
        ("as",),
        ":as moderator",
        "be a moderator in the staff group (approve, reject, ...); :as citizen switches back",
        _as,
    ),
    Command(("help",), ":help", "show this help", _help),
    Command(("quit", "q"), ":quit", "leave the sandbox (Ctrl-D and Ctrl-C too)", _quit),
)
COMMANDS_BY_NAME = {name: command for command in COMMANDS for name in command.names}

HELP = (
    "Sandbox commands (anything else is sent to the bot as a message; ::TEXT sends :TEXT):\n"
    + "".join(f"  {command.usage:<16} {command.help}\n" for command in COMMANDS)
    + f"Messages in the staff group are marked {STAFF_MARK.strip(' ·')!r}.\n"
)


async def _run_command(sandbox: Sandbox, line: str) -> bool:
    """One typed line; a mistake is one line on the terminal, never the end of the sandbox."""
    try:
        return await sandbox.handle(line)
    except LookupError as error:
        sandbox.say(_first_line(error))
    except ValueError as error:  # a safety net: the emulator refused what was asked of it
        sandbox.say(f"cannot do that: {_first_line(error)}")
    return True


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


async def chat(sandbox: Sandbox) -> None:
    """Read and act on typed lines until the person leaves."""
    sandbox.prompt()
    while (line := await sandbox.lines.next()) is not None:
        if not await _run_command(sandbox, line):
            break


async def _load_demo_catalog(db: Database) -> None:
    # Idempotent: a second start of the sandbox finds everything unchanged.
    await import_file(db, DEMO_CATALOG)


def _on_signals(lines: TypedLines) -> Callable[[], None]:
    """Ctrl-C (and a polite kill) leave like Ctrl-D: the chat ends, everything shuts down."""
    loop = asyncio.get_running_loop()
    installed = []
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, lines.leave)
            installed.append(number)

    def remove() -> None:
        for number in installed:
            loop.remove_signal_handler(number)

    return remove


async def run_sandbox(settings: Settings, register_handlers: HandlerRegistrar) -> int:
    lines = TypedLines()
    remove_signal_handlers = _on_signals(lines)
    try:
        async with contextlib.AsyncExitStack() as stack:
            emulator = BotApiEmulator()
            await emulator.start()
            stack.push_async_callback(emulator.stop)
            token = emulator.create_bot(username=SANDBOX_BOT)
            citizen = emulator.add_user(SANDBOX_USER_ID, first_name="You", language_code=None)
            moderator = emulator.add_user(
                SANDBOX_MODERATOR_ID, first_name="Moderator", language_code=None
            )
            # A real staff group: the moderator is its administrator, so the bot's role check
            # (getChatMember) says yes for the reason it would on Telegram.
            staff = emulator.add_group(STAFF_CHAT_ID, STAFF_TITLE, admins=[moderator])
            # Never the deployment's database: the sandbox keeps its own file under ./data.
            database_url = f"sqlite+aiosqlite:///{SANDBOX_DB.resolve()}"
            sandbox_settings = replace(
                settings,
                telegram_bot_token=token,
                telegram_api_base_url=emulator.base_url,
                telegram_file_base_url=emulator.base_file_url,
                database_url=database_url,
                bot_username=SANDBOX_BOT,
                webhook_url=None,
                moderator_chat_id=STAFF_CHAT_ID,
            )
            database = Database(database_url)
            stack.push_async_callback(database.dispose)
            await upgrade_to_head(database)
            await _load_demo_catalog(database)
            runner = BotRunner(
                Services(sandbox_settings, database), token, register_handlers, poll_timeout=1
            )
            stack.push_async_callback(runner.stop)
            await runner.start()
            sandbox = Sandbox(
                emulator, citizen, lines, moderator=moderator, staff=staff, database=database
            )
            watcher = asyncio.create_task(sandbox.watch())
            stack.push_async_callback(_cancelled, watcher)
            print("Commitment Watch sandbox: you are a citizen chatting with the bot, offline.")
            print(HELP, end="")
            print("Try /start, or /start c_SAV-RD-001 to open a report from a signboard's QR code.")
            lines.read_stdin()
            await chat(sandbox)
            print("\n  Leaving the sandbox.", flush=True)
    finally:
        remove_signal_handlers()
    return 0


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
