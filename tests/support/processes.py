"""run_bot.py as a process of its own, as an operator starts it: for the tests that need a real
process (a signal, a kill, the exit status)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.support.harness import Harness

ROOT = Path(__file__).resolve().parents[2]


async def start_bot(
    harness: Harness, cwd: Path, *, output: bool = True, **environment: str
) -> asyncio.subprocess.Process:
    """The bot on the harness's token, emulator and database; `environment` adds settings
    (e.g. WEB_PORT="8080"). With output=False its stdout and stderr are not kept."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": harness.settings.telegram_bot_token or "",
        "TELEGRAM_API_BASE_URL": harness.emulator.base_url,
        "DATABASE_URL": harness.settings.database_url,
        **environment,
    }
    stream = asyncio.subprocess.PIPE if output else asyncio.subprocess.DEVNULL
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_bot.py"), env=env, cwd=cwd, stdout=stream, stderr=stream
    )
