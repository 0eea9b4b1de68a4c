"""A whole python-telegram-bot Application (polling and webhook) driven by simulated users."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    code = context.args[0] if context.args else "none"
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data=f"yes:{code}")],
            [InlineKeyboardButton("No", callback_data="no")],
        ]
    )
    assert update.message is not None
    await update.message.reply_text(f"Report on <b>{code}</b>?", reply_markup=buttons)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You chose <code>{query.data}</code>")


async def count(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    for n in range(int(update.message.text)):
        await update.message.reply_text(f"#{n}")


def build(emu: BotApiEmulator, token: str) -> Application:
    app = (
        Application.builder()
        .token(token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(AIORateLimiter(max_retries=5))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choose))
    app.add_handler(MessageHandler(filters.Regex(r"^\d+$"), count))
    return app


@pytest_asyncio.fixture
async def real_time_emu() -> AsyncIterator[BotApiEmulator]:
    # Real clock: AIORateLimiter really sleeps retry_after, so the buckets must refill for real.
    emulator = BotApiEmulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def test_polling_application_conversation(real_time_emu: BotApiEmulator) -> None:
    emu = real_time_emu
    emu.limits.per_chat_burst = 6  # one 429 in the burst below, not four: keeps the test fast
    token = emu.create_bot()
    amina = emu.add_user(1001, "Amina", language_code="ha")
    app = build(emu, token)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        try:
            await amina.send_command("start", "KAD-RD-017")
            question = await amina.next_message()
            assert question.text == "Report on KAD-RD-017?" and question.buttons == ["Yes", "No"]
            query_id = await amina.press_button("Yes")
            chosen = await amina.next_message()
            assert (chosen.message_id, chosen.text) == (
                question.message_id,
                "You chose yes:KAD-RD-017",
            )
            assert (await amina.wait_for_callback_answer(query_id)).text == "Noted"

            # Five replies at once: the last 429s, AIORateLimiter waits it out, none is lost.
            await amina.send_text("5")
            replies = await amina.wait_for_messages(5, timeout=10)
            assert [m.text for m in replies] == [f"#{n}" for n in range(5)]
            assert any(call.status == 429 for call in emu.calls)
        finally:
            await app.updater.stop()
            await app.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_application_conversation(real_time_emu: BotApiEmulator) -> None:
    emu = real_time_emu
    token = emu.create_bot()
    amina = emu.add_user(1001, "Amina")
    app = build(emu, token)
    port = _free_port()
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            secret_token="test-secret",
        )
        try:
            await amina.send_command("start", "ABJ-WT-002")
            assert (await amina.next_message()).text == "Report on ABJ-WT-002?"
            await amina.press_button("No")
            assert (await amina.next_message()).text == "You chose no"
            await emu.wait_until_delivered()
        finally:
            await app.updater.stop()
            await app.stop()
