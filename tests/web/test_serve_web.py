"""`run_bot.py serve-web`: the web server alone, in its own process, without a bot token."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, **more: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEB_", "BOT_USERNAME"))
    }
    return clean | {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), **more}


async def run_bot(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.both_databases
async def test_serve_web_serves_pages_without_a_token(
    database: Database, database_url: str, catalog_ids: dict[str, int]
) -> None:
    port = free_port()
    process = await run_bot(environment(database_url, WEB_PORT=str(port)), "serve-web")
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert f"serving the public web pages on 127.0.0.1:{port}" in line.decode()
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/", params={"q": "road"}) as page:
                assert page.status == 200
                body = await page.text()
            assert "Kawo–Rigasa road rehabilitation" in body
            async with http.get(f"{base}/commitments/KAD-RD-017") as scorecard:
                assert scorecard.status == 200
                # No BOT_USERNAME and no Telegram to ask: no deep link, and nothing breaks.
                assert "t.me" not in await scorecard.text()
            async with http.get(f"{base}/open311/v2/services.json") as services:
                assert services.status == 200
            # Read-only: the agencies' status endpoint (a write) is not served here.
            async with http.post(f"{base}/agency/kaduna-works/status", data=b"{}") as status:
                assert status.status in (404, 405)
            # Nor are Open311 POST requests (partners' reports go to the bot's own server).
            form = {
                "api_key": "anything",
                "service_code": "KAD-RD-017",
                "lat": "10.5",
                "long": "7.4",
            }
            async with http.post(f"{base}/open311/v2/requests.json", data=form) as created:
                assert created.status == 405
                assert (await created.json())[0]["code"] == 405
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    assert process.returncode == 0


async def test_serve_web_needs_web_port(database: Database, database_url: str) -> None:
    process = await run_bot(environment(database_url), "serve-web")
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "WEB_PORT is required for serve-web" in err.decode()


async def test_serve_web_never_migrates(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    process = await run_bot(environment(url, WEB_PORT=str(free_port())), "serve-web")
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "not at the latest schema" in err.decode()
    assert "Traceback" not in err.decode()
