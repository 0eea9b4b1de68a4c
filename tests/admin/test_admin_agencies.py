"""agencies list|add|edit|invite-official, and roles grant|revoke|list."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable

import pytest
from admin_support import (
    OGP_SAMPLE,
    CliResult,
    assert_one_line_error,
    migrate,
    rows,
    scalar,
    seed,
    sqlite_path,
)

Cli = Callable[..., CliResult]
SECRET = "s3cr3t-value-that-is-long-enough-42"


def agency_row(url: str, code: str) -> dict[str, object]:
    names = [
        "names", "timezone", "digest_frequency", "digest_time", "digest_weekday",
        "webhook_url", "webhook_secret", "emails",
    ]  # fmt: skip
    found = rows(url, f"SELECT {', '.join(names)} FROM agencies WHERE code = ?", code)
    assert found, code
    record = dict(zip(names, found[0], strict=True))
    record["names"] = json.loads(str(record["names"]))
    record["emails"] = json.loads(str(record["emails"]))
    return record


def add_works(cli: Cli, *extra: str) -> CliResult:
    return cli(
        "agencies", "add", "kd-mow", "--name", "en=Ministry of Works",
        "--name", "ha=Ma'aikatar Ayyuka", *extra,
    )  # fmt: skip


def test_add_with_every_setting_then_list(cli: Cli, db_url: str) -> None:
    result = add_works(
        cli,
        "--timezone", "Africa/Lagos", "--digest", "weekly", "--digest-time", "7:30",
        "--digest-weekday", "Fri", "--webhook-url", "https://hooks.example.org/cw",
        "--webhook-secret", SECRET, "--email", "works@kaduna.example", "--email", "b@x.example",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "added agency kd-mow" in result.out
    row_time = agency_row(db_url, "kd-mow")["digest_time"]
    assert str(row_time).startswith("07:30:00")
    assert agency_row(db_url, "kd-mow") == {
        "names": {"en": "Ministry of Works", "ha": "Ma'aikatar Ayyuka"},
        "timezone": "Africa/Lagos",
        "digest_frequency": "weekly",
        "digest_time": row_time,
        "digest_weekday": 4,
        "webhook_url": "https://hooks.example.org/cw",
        "webhook_secret": SECRET,
        "emails": ["works@kaduna.example", "b@x.example"],
    }
    listing = cli("agencies", "list")
    assert listing.code == 0
    assert "kd-mow  Ministry of Works [en]; Ma'aikatar Ayyuka [ha]" in listing.out
    assert "commitments: 0" in listing.out
    assert "Africa/Lagos" in listing.out
    assert "weekly, fri at 07:30" in listing.out
    assert "webhook https://hooks.example.org/cw (secret ****" + SECRET[-4:] + ")" in listing.out
    assert "email works@kaduna.example, b@x.example" in listing.out
    # The secret is never printed back in full.
    assert SECRET not in listing.out + result.out


def test_list_counts_commitments_per_agency(cli: Cli, db_url: str) -> None:
    seed(db_url, {"A-1": "a", "A-2": "a", "B-1": "b", "N-1": None}, [], agencies=["a", "b"])
    lines = cli("agencies", "list").out.splitlines()
    assert len(lines) == 11  # five lines per agency, then the count
    assert lines[-1] == "2 agencies"
    counts = {lines[i].split()[0]: int(lines[i + 4].split(":")[1]) for i in range(0, 10, 5)}
    assert counts == {"a": 2, "b": 1}


def test_list_filters_by_country_and_search_and_counts(cli: Cli, db_url: str) -> None:
    """The OGP export makes hundreds of agencies: the list narrows and says how many."""
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    total = scalar(db_url, "SELECT count(*) FROM agencies")
    everything = cli("agencies", "list")
    assert everything.out.splitlines()[-1] == f"{total} agencies"

    nigeria = cli("agencies", "list", "--country", "NIGERIA")
    assert nigeria.code == 0, nigeria.err
    codes = [line.split()[0] for line in nigeria.out.splitlines() if not line.startswith(" ")]
    assert codes[:-1] == [
        "nigeria/budget-office-of-the-federation",
        "nigeria/corporate-affairs-commission",
        "nigeria/ministry-of-justice",
    ]
    assert nigeria.out.splitlines()[-1] == f"3 of {total} agencies"

    # In the code and in the names, any letter case; a partner agency is found by its country.
    justice = cli("agencies", "list", "--search", "JUSTICE")
    found = [line.split()[0] for line in justice.out.splitlines() if not line.startswith(" ")]
    assert found[:-1] == [
        "bulgaria/ministry-of-justice-administration-of-the-council-o-ad5fa54c",
        "kaduna-state-nigeria/ministry-of-justice",
        "nigeria/ministry-of-justice",
    ]
    kaduna = cli("agencies", "list", "--country", "kaduna state, nigeria", "--search", "union")
    assert kaduna.out.splitlines() == [
        "kaduna-state-nigeria/nigeria-union-of-journalist  Nigeria Union of Journalist [en]",
        "  time zone:   UTC",
        "  digest:      daily at 08:00",
        "  channels:    0 officials in Telegram",
        "  commitments: 0",
        "  partner in:  1",
        f"1 of {total} agencies",
    ]
    by_code = cli("agencies", "list", "--search", "nigeria/corporate")
    assert by_code.out.splitlines()[-1] == f"1 of {total} agencies"
    none = cli("agencies", "list", "--country", "Atlantis")
    assert (none.code, none.out) == (0, f"0 of {total} agencies\n")


def test_counts_in_the_list_are_singular_for_one(cli: Cli, db_url: str) -> None:
    seed(db_url, {}, [], agencies=["a"])
    with sqlite3.connect(sqlite_path(db_url)) as connection:
        connection.execute(
            "INSERT INTO officials (agency_id, telegram_user_id, joined_at) "
            "SELECT id, 42, '2024-05-01 12:00:00.000000' FROM agencies"
        )
    lines = cli("agencies", "list").out.splitlines()
    assert lines[3] == "  channels:    1 official in Telegram"
    assert lines[-1] == "1 agency"
    assert cli("agencies", "list", "--search", "a").out.splitlines()[-1] == "1 of 1 agency"


def test_list_on_an_empty_database(cli: Cli) -> None:
    result = cli("agencies", "list")
    assert result.code == 0 and "no agencies yet" in result.out


def test_defaults_of_a_new_agency(cli: Cli, db_url: str) -> None:
    assert cli("agencies", "add", "x", "--name", "en=X").code == 0
    row = agency_row(db_url, "x")
    assert (row["timezone"], row["digest_frequency"], row["emails"]) == ("UTC", "daily", [])
    assert row["webhook_url"] is None and row["webhook_secret"] is None


def test_edit_changes_only_what_is_given(cli: Cli, db_url: str) -> None:
    assert add_works(cli, "--email", "old@x.example", "--timezone", "Africa/Lagos").code == 0
    result = cli(
        "agencies", "edit", "kd-mow", "--name", "ha=", "--name", "fr=Ministère",
        "--digest", "off", "--email", "new@x.example",
    )  # fmt: skip
    assert result.code == 0, result.err
    row = agency_row(db_url, "kd-mow")
    assert row["names"] == {"en": "Ministry of Works", "fr": "Ministère"}
    assert row["digest_frequency"] == "off"
    assert row["timezone"] == "Africa/Lagos"
    assert row["emails"] == ["old@x.example", "new@x.example"]
    assert cli("agencies", "edit", "kd-mow", "--clear-emails").code == 0
    assert agency_row(db_url, "kd-mow")["emails"] == []
    assert "digest:      off" in cli("agencies", "list").out


def test_edit_webhook_and_clear_it(cli: Cli, db_url: str) -> None:
    assert add_works(cli).code == 0
    local = "http://localhost:8080/h"
    edit = ["agencies", "edit", "kd-mow"]
    assert cli(*edit, "--webhook-url", local, "--webhook-secret", SECRET).code == 0
    assert agency_row(db_url, "kd-mow")["webhook_url"] == "http://localhost:8080/h"
    assert cli("agencies", "edit", "kd-mow", "--clear-webhook").code == 0
    row = agency_row(db_url, "kd-mow")
    assert row["webhook_url"] is None and row["webhook_secret"] is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--timezone", "Mars/Base"], "--timezone: 'Mars/Base' is not an IANA time zone"),
        (["--timezone", "../etc/passwd"], "is not an IANA time zone"),
        (["--digest-time", "25:00"], "--digest-time: expected HH:MM"),
        (["--digest-time", "8am"], "--digest-time: expected HH:MM"),
        (["--digest-weekday", "funday"], "--digest-weekday: expected one of mon, tue"),
        (["--webhook-url", "ftp://x.example"], "--webhook-url: expected an https:// URL"),
        (["--webhook-url", "http://hooks.example.org"], "use https://"),
        (["--webhook-secret", "short"], "--webhook-secret: use at least 16 characters"),
        (["--email", "not-an-address"], "--email: 'not-an-address' is not an e-mail address"),
        (["--name", "English=Works"], "'English' is not a language code"),
        (["--name", "Works"], "--name: expected LANG=TEXT"),
    ],
)
def test_bad_values_are_refused(cli: Cli, db_url: str, options: list[str], message: str) -> None:
    assert add_works(cli).code == 0
    before = agency_row(db_url, "kd-mow")
    result = cli("agencies", "edit", "kd-mow", *options)
    assert_one_line_error(result, message, code=2)
    assert agency_row(db_url, "kd-mow") == before
    added = cli("agencies", "add", "other", "--name", "en=Other", *options)
    assert_one_line_error(added, message, code=2)
    assert scalar(db_url, "SELECT count(*) FROM agencies") == 1


def test_a_bad_digest_choice_is_a_usage_error(cli: Cli) -> None:
    result = cli("agencies", "add", "x", "--name", "en=X", "--digest", "hourly")
    assert result.code == 2
    assert "invalid choice: 'hourly'" in result.err


def test_add_errors(cli: Cli, db_url: str) -> None:
    assert add_works(cli).code == 0
    assert_one_line_error(add_works(cli), "agency kd-mow already exists", code=1)
    assert_one_line_error(
        cli("agencies", "add", "x y", "--name", "en=X"), "is not an agency code", code=2
    )
    assert_one_line_error(cli("agencies", "add", "x"), "--name: give the agency's name")
    assert scalar(db_url, "SELECT count(*) FROM agencies") == 1


def test_edit_errors(cli: Cli) -> None:
    assert add_works(cli).code == 0
    assert_one_line_error(
        cli("agencies", "edit", "kd-mw", "--digest", "off"),
        "unknown agency 'kd-mw'; did you mean kd-mow?",
        code=1,
    )
    assert_one_line_error(cli("agencies", "edit", "kd-mow"), "nothing to change", code=2)
    assert_one_line_error(
        cli("agencies", "edit", "kd-mow", "--name", "en=", "--name", "ha="),
        "needs a name in at least one language",
    )
    assert_one_line_error(
        cli("agencies", "edit", "kd-mow", "--clear-webhook", "--webhook-secret", SECRET),
        "--clear-webhook cannot be combined",
    )


# --- invites ---------------------------------------------------------------------------------

LINK = re.compile(r"^https://t\.me/cw_test_bot\?start=join_([A-Za-z0-9_-]+)$")


def test_invite_prints_a_single_use_link_and_stores_only_its_hash(cli: Cli, db_url: str) -> None:
    assert add_works(cli).code == 0
    result = cli("agencies", "invite-official", "kd-mow", "--expires-in", "2h")
    assert result.code == 0, result.err
    link, note = result.out.strip().splitlines()
    match = LINK.match(link)
    assert match, link
    token = match[1]
    assert len(f"join_{token}") <= 64
    assert "single use, for agency kd-mow" in note
    stored = rows(
        db_url,
        "SELECT token_sha256, agency_id, created_at, expires_at, used_at, used_by "
        "FROM official_invites",
    )
    assert len(stored) == 1
    token_hash, agency_id, created, expires, used_at, used_by = stored[0]
    assert token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(stored)
    assert agency_id == scalar(db_url, "SELECT id FROM agencies WHERE code = 'kd-mow'")
    assert (used_at, used_by) == (None, None)
    assert expires > created
    second = cli("agencies", "invite-official", "kd-mow")
    assert LINK.match(second.out.splitlines()[0])[1] != token  # type: ignore[index]


def test_invite_needs_bot_username(cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert add_works(cli).code == 0
    monkeypatch.delenv("BOT_USERNAME")
    result = cli("agencies", "invite-official", "kd-mow")
    assert_one_line_error(result, "BOT_USERNAME is not set", "set BOT_USERNAME", code=1)
    assert scalar(db_url, "SELECT count(*) FROM official_invites") == 0


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["nope"], "unknown agency 'nope'", 1),
        (["kd-mow", "--expires-in", "soon"], "--expires-in: expected a duration", 2),
        (["kd-mow", "--expires-in", "0h"], "--expires-in: expected a duration", 2),
        (["kd-mow", "--expires-in", "31d"], "--expires-in: at most 30d", 2),
    ],
)
def test_invite_errors(cli: Cli, db_url: str, args: list[str], message: str, code: int) -> None:
    assert add_works(cli).code == 0
    assert_one_line_error(cli("agencies", "invite-official", *args), message, code=code)
    assert scalar(db_url, "SELECT count(*) FROM official_invites") == 0


# --- roles -----------------------------------------------------------------------------------


def test_grant_list_revoke(cli: Cli, db_url: str) -> None:
    assert cli("roles", "grant", "123456789", "moderator").out.strip() == (
        "granted moderator to 123456789"
    )
    assert cli("roles", "grant", "42", "admin").code == 0
    assert cli("roles", "grant", "42", "moderator").code == 0
    again = cli("roles", "grant", "42", "admin")
    assert again.code == 0 and "42 already holds admin" in again.out
    assert sorted(rows(db_url, "SELECT telegram_user_id, role FROM user_roles")) == [
        (42, "admin"),
        (42, "moderator"),
        (123456789, "moderator"),
    ]
    listing = cli("roles", "list").out.splitlines()
    assert [line.split()[:2] for line in listing] == [
        ["admin", "42"],
        ["moderator", "42"],
        ["moderator", "123456789"],
    ]
    only = cli("roles", "list", "--role", "admin").out.splitlines()
    assert [line.split()[:2] for line in only] == [["admin", "42"]]
    assert cli("roles", "revoke", "42", "moderator").out.strip() == "revoked moderator from 42"
    assert sorted(rows(db_url, "SELECT telegram_user_id, role FROM user_roles")) == [
        (42, "admin"),
        (123456789, "moderator"),
    ]


def test_roles_list_when_nobody_holds_one(cli: Cli) -> None:
    result = cli("roles", "list")
    assert result.code == 0 and "nobody holds any role" in result.out


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["grant", "-5", "admin"], "USER_ID must be a positive whole number", 2),
        (["grant", "0", "admin"], "USER_ID must be a positive whole number", 2),
        (["grant", "abc", "admin"], "got 'abc'", 2),
        (["grant", "99999999999999999999", "admin"], "USER_ID must be a positive", 2),
        (["grant", "42", "boss"], "unknown role 'boss'; expected moderator or admin", 2),
        (["revoke", "42", "admin"], "42 does not hold admin", 1),
        (["list", "--role", "boss"], "unknown role 'boss'", 2),
    ],
)
def test_role_errors(cli: Cli, db_url: str, args: list[str], message: str, code: int) -> None:
    migrate(db_url)
    assert_one_line_error(cli("roles", *args), message, code=code)
    assert scalar(db_url, "SELECT count(*) FROM user_roles") == 0
