"""The command line as an operator meets it: help, a missing token, a bad setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_URL", "DEFAULT_LOCALE", "REGION_BOUNDS"))
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | (env or {}),
        cwd=cwd or ROOT,
    )


def test_help_explains_every_option() -> None:
    result = run_bot("--help")
    assert result.returncode == 0
    for option in (
        "--sandbox",
        "--env-file",
        "--log-level",
        "--migrate-only",
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "MODERATOR_LOCALE",
        "DUPLICATE_RADIUS_M",
        "FIX_CHECK_DAYS",
        "TIMEZONE",
        "TELEGRAM_MAX_MESSAGES_PER_SECOND",
        "WEB_PORT",
        "SMTP_HOST",
        "WEBHOOK_URL",
        "REGION_BOUNDS",
        "MODERATOR_CHAT_ID",
        "DEFAULT_LOCALE",
    ):
        assert option in result.stdout


def test_without_token_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    result = run_bot(env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "@BotFather" in lines[0] and "--sandbox" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_token_is_not_echoed(tmp_path: Path) -> None:
    secret = "999999:this-is-not-a-valid-token"
    result = run_bot(env={"TELEGRAM_BOT_TOKEN": secret}, cwd=tmp_path)
    assert result.returncode == 2
    assert secret not in result.stderr + result.stdout


def test_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = run_bot(env={"REGION_BOUNDS": "north-ish"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "REGION_BOUNDS" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_only_creates_the_sqlite_file(tmp_path: Path) -> None:
    db_file = tmp_path / "nested" / "cw.db"
    result = run_bot(
        "--migrate-only", env={"DATABASE_URL": f"sqlite+aiosqlite:///{db_file}"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert db_file.is_file()
