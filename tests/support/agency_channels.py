"""Steps and servers for the agency channel tests: an approved report, the agency's settings,
a real HTTP receiver standing in for the agency's own system and an SMTP handler for its
mailboxes."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import socket
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from sqlalchemy import select

from emulator import BotMessage, SimulatedGroup, SimulatedUser
from storage.models import Agency, OutboxMessage
from tests.support.conversation import expect
from tests.support.flows import open_report, photos_then_send
from tests.support.harness import Harness

STAFF_CHAT = -1001000000777
AGENCY = "kaduna-works"
SECRET = "s3cret-shared-with-the-agency-system"


async def configure_agency(harness: Harness, code: str = AGENCY, **values: Any) -> None:
    async with harness.db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == code))
        assert agency is not None
        for name, value in values.items():
            setattr(agency, name, value)


async def submit(
    harness: Harness,
    citizen: SimulatedUser,
    photo: bytes | None = None,
    where: tuple[float, float] = (10.5731, 7.4412),
) -> str:
    """A report on KAD-RD-017; reports of one test need places apart (else: "add your voice")."""
    await open_report(citizen)
    await citizen.send_text("The new culvert is cracked and water pours onto the road.")
    await expect(citizen, "Where is it?")
    await citizen.send_location(*where)
    await expect(citizen, "Add photos")
    return await photos_then_send(citizen, [photo] if photo is not None else [])


async def approve(
    moderator: SimulatedUser, group: SimulatedGroup, reference: str, card: BotMessage | None = None
) -> None:
    """Approve and wait until the approval is committed (the button's answer comes after)."""
    if card is None:
        card = await expect(group, reference, "waiting for review", timeout=15)
    query = await moderator.press_button("✅ Approve", message=card)
    answer = await moderator.wait_for_callback_answer(query, timeout=10)
    assert answer.text and reference in answer.text


def staff(harness: Harness) -> tuple[SimulatedUser, SimulatedGroup]:
    moderator = harness.user("en", first_name="Ada")
    return moderator, harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])


async def outbox_rows(harness: Harness, kind: str) -> list[OutboxMessage]:
    async with harness.db.read() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(rows.all())


def expected_signature(secret: str, body: bytes) -> str:
    """Computed here, independently of the bot's code, as a receiver would."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    answered: int


class WebhookReceiver:
    """A real aiohttp server: verifies each request's signature and answers with the status
    `answer(n)` gives for the n-th request (1-based)."""

    def __init__(self, secret: str, answer: Callable[[int], int] = lambda n: 200) -> None:
        self.secret = secret
        self.answer = answer
        self.requests: list[Received] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/commitment-watch", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks/commitment-watch"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("X-CommitmentWatch-Signature-256", "")
        ok = hmac.compare_digest(expected_signature(self.secret, body), signature)
        status = self.answer(len(self.requests) + 1) if ok else 401
        async with self._arrived:
            self.requests.append(Received(dict(request.headers), body, ok, status))
            self._arrived.notify_all()
        return web.Response(status=status, text="ok" if status < 300 else "receiver trouble")

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.requests) >= count), timeout
            )


class Mailbox:
    """aiosmtpd handler: keeps every message; refuses the `refused` recipients as a real server
    would."""

    def __init__(self, refused: frozenset[str] | set[str] = frozenset()) -> None:
        self.refused = refused
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
