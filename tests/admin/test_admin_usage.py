"""The admin command line's conventions: what a command acts on is a positional argument
(FILE, CODE, AGENCY, USER_ID), options are flags; a mistake on the command line is one line
`error: ... (try ... --help)` with exit status 2, for every command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from admin_support import CliResult, assert_one_line_error, scalar

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]

# A wrong argument for every command and subcommand, and what argparse says about it.
MISTAKES = [
    (["--no-such-option"], "unrecognized arguments: --no-such-option", "run_bot.py --help"),
    (["import-commitments"], "required: FILE", "run_bot.py import-commitments --help"),
    (["import-commitments", "x.csv", "--format", "xml"], "invalid choice: 'xml'", "--help"),
    (["agencies"], "required: ACTION", "run_bot.py agencies --help"),
    (["agencies", "remove"], "invalid choice: 'remove'", "run_bot.py agencies --help"),
    (["agencies", "list", "--bogus"], "unrecognized arguments: --bogus", "--help"),
    (["agencies", "add", "--digest", "hourly"], "invalid choice: 'hourly'", "--help"),
    (["agencies", "edit", "a", "b"], "unrecognized arguments: b", "--help"),
    (["agencies", "invite-official"], "required: AGENCY", "invite-official --help"),
    (["roles"], "required: ACTION", "run_bot.py roles --help"),
    (["roles", "grant", "1"], "required: ROLE", "run_bot.py roles grant --help"),
    (["roles", "revoke"], "required: USER_ID, ROLE", "roles revoke --help"),
    (["roles", "list", "--x"], "unrecognized arguments: --x", "roles list --help"),
    (["qr", "--out"], "--out: expected one argument", "run_bot.py qr --help"),
    (["export", "--format", "xls"], "invalid choice: 'xls'", "run_bot.py export --help"),
    (["stats", "--csv"], "unrecognized arguments: --csv", "run_bot.py stats --help"),
    (["outbox"], "required: ACTION", "run_bot.py outbox --help"),
    (["outbox", "failed", "--limit"], "--limit: expected one argument", "--help"),
]


@pytest.mark.parametrize(("argv", "message", "hint"), MISTAKES, ids=lambda v: str(v))
def test_every_usage_mistake_is_one_line(
    cli: Cli, argv: list[str], message: str, hint: str
) -> None:
    result = cli(*argv)
    assert_one_line_error(result, message, code=2)
    assert result.error_lines[0].endswith(f"{hint})"), result.err
    assert "(try " in result.error_lines[0]
    assert "usage:" not in result.err
    assert result.out == ""


def test_a_usage_mistake_in_a_real_process_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "agencies", "add", "--name", "en=Works"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: give the agency's CODE, e.g. agencies add kd-mow --name en='Ministry of Works' "
        "(try run_bot.py agencies add --help)"
    ]


def test_agencies_add_and_edit_take_the_code_as_invite_official_does(cli: Cli, db_url: str) -> None:
    added = cli("agencies", "add", "kd-mow", "--name", "en=Ministry of Works")
    assert added.code == 0, added.err
    assert added.out == "added agency kd-mow\n"
    edited = cli("agencies", "edit", "kd-mow", "--digest", "off")
    assert edited.code == 0, edited.err
    assert edited.out == "updated agency kd-mow\n"
    assert scalar(db_url, "SELECT digest_frequency FROM agencies WHERE code = 'kd-mow'") == "off"
    assert cli("agencies", "invite-official", "kd-mow").code == 0
    usage = cli("agencies", "add", "--help").out
    assert usage.startswith("usage: run_bot.py agencies add CODE --name LANG=TEXT")
    assert "usage: run_bot.py agencies edit CODE [options]" in cli("agencies", "edit", "-h").out
    assert "--code" not in usage  # the old spelling still works, but is not taught


def test_the_old_code_option_still_works(cli: Cli, db_url: str) -> None:
    assert cli("agencies", "add", "--code", "kd-mow", "--name", "en=Works").code == 0
    assert cli("agencies", "edit", "--code", "kd-mow", "--digest", "off").code == 0
    assert scalar(db_url, "SELECT digest_frequency FROM agencies WHERE code = 'kd-mow'") == "off"
    assert_one_line_error(
        cli("agencies", "edit", "kd-mow", "--code", "other", "--digest", "daily"),
        "the code is given twice (kd-mow and other)",
        "(try run_bot.py agencies edit --help)",
        code=2,
    )
    assert_one_line_error(
        cli("agencies", "edit", "--digest", "daily"), "give the agency's CODE", code=2
    )
    assert scalar(db_url, "SELECT digest_frequency FROM agencies WHERE code = 'kd-mow'") == "off"


@pytest.mark.parametrize(
    "argv",
    [["qr", "--all"], ["agencies", "invite-official", "kd-mow"]],
    ids=["qr", "invite-official"],
)
def test_links_without_bot_username_say_to_set_it(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("BOT_USERNAME")
    assert_one_line_error(cli(*argv), "BOT_USERNAME is not set", "set BOT_USERNAME", code=1)
