"""Flood limits: token buckets per chat, per group and overall, on an injected clock."""

from __future__ import annotations

import pytest
from telegram import Bot, InputMediaPhoto
from telegram.error import RetryAfter

from emulator import BotApiEmulator, EmulatorLimits

pytestmark = pytest.mark.asyncio


async def test_private_chat_burst_then_429_with_retry_after(
    raw, emu: BotApiEmulator, clock
) -> None:
    emu.add_user(1001, "Amina")
    for n in range(3):
        status, _ = await raw.call("sendMessage", chat_id=1001, text=f"burst {n}")
        assert status == 200
    assert await raw.call("sendMessage", chat_id=1001, text="one too many") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    assert [c.status for c in emu.calls].count(429) == 1
    clock.advance(1.0)
    assert (await raw.call("sendMessage", chat_id=1001, text="after waiting"))[0] == 200
    assert (await raw.call("sendMessage", chat_id=1001, text="again"))[0] == 429
    # Refused calls sent nothing.
    assert len(emu.sent_messages(1001)) == 4


async def test_ptb_raises_retry_after(ptb: Bot, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    emu.limits.per_chat_per_second = 0.25
    emu.limits.per_chat_burst = 1
    await ptb.send_message(1001, "first")
    with pytest.raises(RetryAfter) as caught:
        await ptb.send_message(1001, "second")
    assert "Retry in 4 seconds" in str(caught.value)


async def test_other_chats_and_non_sending_methods_are_not_limited(
    raw, emu: BotApiEmulator
) -> None:
    amina = emu.add_user(1001, "Amina")
    emu.add_user(1002, "Bello")
    for _ in range(3):
        await raw.call(
            "sendMessage",
            chat_id=1001,
            text="x",
            reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        )
    assert (await raw.call("sendMessage", chat_id=1001, text="x"))[0] == 429
    assert (await raw.call("sendMessage", chat_id=1002, text="x"))[0] == 200
    for _ in range(10):
        assert (await raw.call("getMe"))[0] == 200
        assert (await raw.call("sendChatAction", chat_id=1001, action="typing"))[0] == 200
    query_id = await amina.press_button("A")
    assert (await raw.call("answerCallbackQuery", callback_query_id=query_id))[0] == 200


async def test_edits_count_against_the_chat(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    _, body = await raw.call("sendMessage", chat_id=1001, text="v0")
    message_id = body["result"]["message_id"]
    assert (await raw.call("editMessageText", chat_id=1001, message_id=message_id, text="v1"))[
        0
    ] == 200
    assert (await raw.call("editMessageText", chat_id=1001, message_id=message_id, text="v2"))[
        0
    ] == 200
    status, body = await raw.call("editMessageText", chat_id=1001, message_id=message_id, text="v3")
    assert status == 429 and body["parameters"]["retry_after"] == 1


async def test_media_group_counts_once(ptb: Bot, emu: BotApiEmulator, make_jpeg) -> None:
    emu.add_user(1001, "Amina")
    photo = make_jpeg(50, 50)
    for _ in range(3):
        await ptb.send_media_group(1001, [InputMediaPhoto(photo)] * 4)
    with pytest.raises(RetryAfter):
        await ptb.send_media_group(1001, [InputMediaPhoto(photo)] * 2)


async def test_global_limit_across_chats(raw, emu: BotApiEmulator, clock) -> None:
    emu.limits = EmulatorLimits(global_per_second=2.0, global_burst=4)
    for user_id in range(2001, 2006):
        emu.add_user(user_id, f"User {user_id}")
    statuses = [(await raw.call("sendMessage", chat_id=u, text="x"))[0] for u in range(2001, 2006)]
    assert statuses == [200, 200, 200, 200, 429]
    clock.advance(0.5)  # 2 per second refills one token
    assert (await raw.call("sendMessage", chat_id=2005, text="x"))[0] == 200


async def test_paid_broadcasts_go_past_the_overall_limit_and_are_counted(
    raw, emu: BotApiEmulator, clock
) -> None:
    emu.limits = EmulatorLimits(global_per_second=2.0, global_burst=4, paid_per_second=10.0)
    for user_id in range(2001, 2016):
        emu.add_user(user_id, f"User {user_id}")
    plain = [(await raw.call("sendMessage", chat_id=u, text="x"))[0] for u in range(2001, 2006)]
    assert plain == [200, 200, 200, 200, 429]
    paid = [
        (await raw.call("sendMessage", chat_id=u, text="x", allow_paid_broadcast=True))[0]
        for u in range(2005, 2016)
    ]
    # Ten a second paid, whatever the free bucket holds; the refused one is not charged.
    assert paid == [200] * 10 + [429]
    assert emu.paid_messages() == 10
    # A paid broadcast still keeps to one chat's own limit.
    clock.advance(1)
    emu.add_user(3001, "Amina")
    emu.limits = EmulatorLimits(per_chat_burst=1, paid_per_second=10.0)
    statuses = [
        (await raw.call("sendMessage", chat_id=3001, text="x", allow_paid_broadcast=True))[0]
        for _ in range(2)
    ]
    assert statuses == [200, 429]


async def test_group_limit_is_per_minute(raw, emu: BotApiEmulator, clock) -> None:
    emu.add_group(-100123, "Staff")
    for _ in range(20):
        assert (await raw.call("sendMessage", chat_id=-100123, text="x"))[0] == 200
    status, body = await raw.call("sendMessage", chat_id=-100123, text="x")
    assert status == 429 and body["parameters"]["retry_after"] == 3  # 60 s / 20 messages
    clock.advance(3)
    assert (await raw.call("sendMessage", chat_id=-100123, text="x"))[0] == 200


async def test_limits_change_at_run_time(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    emu.limits.per_chat_burst = 5
    statuses = [(await raw.call("sendMessage", chat_id=1001, text="x"))[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    emu.limits.enabled = False
    assert all(
        [(await raw.call("sendMessage", chat_id=1001, text="x"))[0] == 200 for _ in range(20)]
    )
    emu.limits.enabled = True
    assert (await raw.call("sendMessage", chat_id=1001, text="x"))[0] == 429
    emu.reset_rate_limits()
    assert (await raw.call("sendMessage", chat_id=1001, text="x"))[0] == 200
