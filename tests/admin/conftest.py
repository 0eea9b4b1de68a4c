"""Fixtures for the admin command line: a fresh SQLite file per test, the CLI run in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from admin_support import CliResult, run_cli

CLEARED = (
    "DATABASE_URL",
    "BOT_USERNAME",
    "DEFAULT_LOCALE",
    "TELEGRAM_BOT_TOKEN",
    "LOG_LEVEL",
)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_USERNAME", "cw_test_bot")
    # No stray ./.env from the developer's checkout.
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*argv: str) -> CliResult:
        return run_cli(capsys, *argv)

    return run
