"""Injected faults: 502s, slow answers and dropped connections, as the bot experiences them."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from emulator import BotApiEmulator, FaultPlan

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _no_flood_limits(emu: BotApiEmulator) -> None:
    emu.limits.enabled = False


async def test_5xx_answers_bad_gateway(raw, emu: BotApiEmulator, ptb: Bot) -> None:
    emu.add_user(1001, "Amina")
    emu.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendMessage"}, seed=7)
    response = await raw.session.post(
        f"{emu.base_url}{raw.token}/sendMessage", json={"chat_id": 1001, "text": "x"}
    )
    async with response:
        assert response.status == 502
        assert "Bad Gateway" in await response.text()
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await ptb.send_message(1001, "x")
    assert (await raw.call("getMe"))[0] == 200  # other methods untouched
    assert emu.sent_messages(1001) == []
    faulted = [call for call in emu.calls if call.fault]
    assert [(c.method, c.status, c.fault) for c in faulted] == [("sendMessage", 502, "5xx")] * 2


async def test_drop_closes_the_connection_without_sending(emu: BotApiEmulator, ptb: Bot) -> None:
    emu.add_user(1001, "Amina")
    emu.faults.set(rate=1.0, kinds={"drop"}, methods={"sendMessage"}, limit=1)
    with pytest.raises(NetworkError):
        await ptb.send_message(1001, "lost")
    assert emu.sent_messages(1001) == []
    assert (await ptb.send_message(1001, "retried")).text == "retried"  # limit=1: only once
    assert [(c.status, c.fault) for c in emu.calls if c.method == "sendMessage"] == [
        (0, "drop"),
        (200, None),
    ]


async def test_drop_after_sends_but_loses_the_answer(emu: BotApiEmulator, ptb: Bot) -> None:
    amina = emu.add_user(1001, "Amina")
    emu.faults.set(rate=1.0, kinds={"drop_after"}, methods={"sendMessage"})
    with pytest.raises(NetworkError):
        await ptb.send_message(1001, "delivered anyway")
    assert (await amina.next_message()).text == "delivered anyway"


async def test_slow_answers_make_the_client_time_out(emu: BotApiEmulator, ptb: Bot) -> None:
    amina = emu.add_user(1001, "Amina")
    emu.faults.set(rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1.0)
    with pytest.raises(TimedOut):
        await ptb.send_message(1001, "slow", read_timeout=0.1)
    # The call itself went through; only its answer was late.
    assert (await amina.next_message()).text == "slow"
    assert emu.calls[-1].fault == "slow"


async def test_get_updates_is_spared_unless_named(emu: BotApiEmulator, ptb: Bot) -> None:
    emu.faults.set(rate=1.0, kinds={"5xx"})
    assert await ptb.get_updates(timeout=0) == ()
    with pytest.raises(NetworkError):
        await ptb.get_me()
    emu.faults.set(rate=1.0, kinds={"5xx"}, methods={"getUpdates"})
    with pytest.raises(NetworkError):
        await ptb.get_updates(timeout=0)
    emu.faults.clear()
    assert await ptb.get_updates(timeout=0) == ()


async def test_a_seed_makes_the_fault_pattern_repeatable() -> None:
    def pattern(seed: int) -> list[str | None]:
        plan = FaultPlan(rate=0.3, kinds={"5xx", "slow", "drop"}, seed=seed)
        return [plan.pick("sendMessage") for _ in range(200)]

    first = pattern(42)
    assert first == pattern(42)
    assert first != pattern(43)
    hits = [kind for kind in first if kind]
    assert 30 < len(hits) < 90 and set(hits) == {"5xx", "slow", "drop"}
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(rate=0.1, kinds={"flood"})
