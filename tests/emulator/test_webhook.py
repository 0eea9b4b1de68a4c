"""Webhook mode: setWebhook, delivery to a local receiver with the secret header, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot
from telegram.error import Conflict

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio


class Receiver:
    """A tiny webhook endpoint; `fail_next` makes it answer 500 that many times."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.fail_next = 0
        self.url = ""
        self._changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=500)
        self.received.append((body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self._changed.set()
        return web.Response(text="ok")

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        return [body for body, _ in self.received]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def test_updates_are_posted_with_the_secret(
    ptb: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    amina = emu.add_user(1001, "Amina")
    assert await ptb.set_webhook(receiver.url, secret_token="s3cret-token_1")
    first = await amina.send_text("hello")
    second = await amina.send_location(10.5, 7.4)
    bodies = await receiver.wait_for(2)
    assert bodies == [first, second]
    assert {secret for _, secret in receiver.received} == {"s3cret-token_1"}
    info = await ptb.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    with pytest.raises(Conflict, match="webhook is active"):
        await ptb.get_updates()


async def test_failed_deliveries_are_retried_in_order(
    ptb: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    emu.state.webhook_retry_delay = 0.01
    amina = emu.add_user(1001, "Amina")
    receiver.fail_next = 2
    await ptb.set_webhook(receiver.url)
    sent = [await amina.send_text(f"message {n}") for n in range(3)]
    assert await receiver.wait_for(3) == sent
    info = await ptb.get_webhook_info()
    assert "500" in (info.last_error_message or "")


async def test_pending_updates_survive_set_webhook_unless_dropped(
    ptb: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    amina = emu.add_user(1001, "Amina")
    kept = await amina.send_text("before")
    await ptb.set_webhook(receiver.url)
    assert await receiver.wait_for(1) == [kept]
    await ptb.delete_webhook()
    await amina.send_text("dropped")
    await ptb.set_webhook(receiver.url, drop_pending_updates=True)
    after = await amina.send_text("after")
    assert (await receiver.wait_for(2))[1] == after


async def test_a_repeated_update_reaches_the_webhook_again(
    ptb: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    amina = emu.add_user(1001, "Amina")
    await ptb.set_webhook(receiver.url)
    update = await amina.send_command("start")
    await receiver.wait_for(1)
    assert await amina.resend_last_update() is update
    bodies = await receiver.wait_for(2)
    assert bodies[0]["update_id"] == bodies[1]["update_id"]


async def test_deleting_the_webhook_returns_to_polling(
    ptb: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    amina = emu.add_user(1001, "Amina")
    await ptb.set_webhook(receiver.url)
    await ptb.delete_webhook()
    await amina.send_text("polled")
    [update] = await ptb.get_updates()
    assert update.message.text == "polled"
    assert receiver.received == []
    assert (await ptb.get_webhook_info()).url == ""
