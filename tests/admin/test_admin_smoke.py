"""The admin commands as an operator meets them in a shell: `python run_bot.py <command>`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from admin_support import OGP_SAMPLE, ReportSpec, assert_one_line_error, scalar, seed

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    ["import-commitments"],
    ["agencies"],
    ["agencies", "list"],
    ["agencies", "add"],
    ["agencies", "edit"],
    ["agencies", "invite-official"],
    ["roles"],
    ["roles", "grant"],
    ["roles", "revoke"],
    ["roles", "list"],
    ["qr"],
    ["export"],
    ["stats"],
]


def run_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_USERNAME")}
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | env,
        cwd=cwd,
    )


def test_top_level_help_lists_every_admin_command(tmp_path: Path) -> None:
    result = run_bot("--help", env={}, cwd=tmp_path)
    assert result.returncode == 0
    for command in ("import-commitments", "agencies", "roles", "qr", "export", "stats"):
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*command, "--help")
    assert result.code == 0
    assert "usage:" in result.out
    assert command[-1] in result.out


def test_import_then_stats_in_a_real_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'smoke.db'}"
    env = {"DATABASE_URL": url}
    imported = run_bot("import-commitments", str(OGP_SAMPLE), env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "12 created" in imported.stdout
    assert imported.stderr == ""
    assert scalar(url, "SELECT count(*) FROM commitments") == 12

    missing = run_bot("import-commitments", str(tmp_path / "nope.csv"), env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: ")
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "Traceback" not in missing.stderr


def test_a_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    """`export | head`: the reader goes away; no traceback, a non-zero status."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'pipe.db'}"
    reports = [ReportSpec(f"R{i:05d}", "A-1", "published", text="x" * 200) for i in range(3000)]
    seed(url, {"A-1": None}, reports)
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean | {"DATABASE_URL": url},
        cwd=tmp_path,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"reference,")
    child.stdout.close()  # far more than a pipe buffer is still to come
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=60) == 1
    assert stderr == ""


@pytest.mark.parametrize("command", [["stats"], ["roles", "list"], ["agencies", "list"]])
def test_an_unusable_database_is_one_clear_line(
    cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:  # type: ignore[no-untyped-def]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{garbage}")
    result = cli(*command)
    assert_one_line_error(result, "database error: file is not a database", code=1)

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{blocker}/sub/x.db")
    assert_one_line_error(cli(*command), str(blocker), code=1)
