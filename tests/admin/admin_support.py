"""Helpers for the admin tests: run the real CLI, read the real database, seed reports."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bot.app.cli import main
from handlers import register_handlers
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, OutboxMessage, Report

# Real rows of the OGP export, kept in the checkout (tests/data/ogp/README.md).
OGP_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "ogp" / "ogp_sample.csv"
OGP_FULL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ogp"
OGP_FULL_FILE = (OGP_FULL / "ogp_commitments_irm_export.csv").resolve()


def real_ogp_export() -> Path:
    """The whole export beside the checkout when it is there, else the sample: a test of the
    real data never skips (a clean checkout in CI has no ../shared)."""
    return OGP_FULL_FILE if OGP_FULL_FILE.is_file() else OGP_SAMPLE


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    capsys.readouterr()
    try:
        code = main(list(argv), register_handlers)
    except SystemExit as exc:  # argparse: --help and usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def assert_one_line_error(result: CliResult, *fragments: str, code: int | None = None) -> None:
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    assert len(result.error_lines) == 1, result.err
    assert result.error_lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.error_lines[0], result.err


def sqlite_path(url: str) -> str:
    return str(make_url(url).database)


def rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """What the database holds, read with plain sqlite3 (independent of our code)."""
    with sqlite3.connect(sqlite_path(url)) as connection:
        return connection.execute(sql, params).fetchall()


def scalar(url: str, sql: str, *params: Any) -> Any:
    return rows(url, sql, *params)[0][0]


def table_exists(url: str, table: str) -> bool:
    if not Path(sqlite_path(url)).exists():
        return False
    found = rows(url, "SELECT name FROM sqlite_master WHERE type='table' AND name=?", table)
    return bool(found)


def commitment(url: str, code: str) -> dict[str, Any]:
    names = [
        "code", "titles", "short_titles", "descriptions", "action_plan", "theme", "country",
        "agency_id", "latitude", "longitude", "radius_m", "start_date", "end_date",
        "search_text", "updated_at",
    ]  # fmt: skip
    found = rows(url, f"SELECT {', '.join(names)} FROM commitments WHERE code = ?", code)
    assert found, f"no commitment {code}"
    record = dict(zip(names, found[0], strict=True))
    for name in ("titles", "short_titles", "descriptions"):
        record[name] = json.loads(record[name])
    return record


def migrate(url: str) -> None:
    async def go() -> None:
        db = Database(url)
        try:
            await upgrade_to_head(db)
        finally:
            await db.dispose()

    asyncio.run(go())


@dataclass(frozen=True)
class ReportSpec:
    reference: str
    commitment: str
    status: str
    citizen: int = 1  # Telegram user id of the citizen
    text: str | None = "pothole"
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    kind: str = "problem"
    language: str = "en"


def seed(
    url: str,
    commitments: dict[str, str | None],
    reports: list[ReportSpec],
    agencies: list[str] = (),  # type: ignore[assignment]
    outbox: dict[str, int] | None = None,
) -> None:
    """Agencies by code, commitments (code -> agency code), citizens, reports, outbox rows."""

    async def go() -> None:
        db = Database(url)
        try:
            await upgrade_to_head(db)
            async with db.write() as session:
                agency_ids = {}
                for code in agencies:
                    agency = Agency(code=code, names={"en": code})
                    session.add(agency)
                    await session.flush()
                    agency_ids[code] = agency.id
                commitment_ids = {}
                for code, agency_code in commitments.items():
                    c = Commitment(
                        code=code,
                        titles={"en": f"Title of {code}"},
                        agency_id=agency_ids.get(agency_code) if agency_code else None,
                        search_text=code.lower(),
                    )
                    session.add(c)
                    await session.flush()
                    commitment_ids[code] = c.id
                citizen_ids = {}
                for telegram_id in sorted({r.citizen for r in reports}):
                    citizen = Citizen(telegram_user_id=telegram_id)
                    session.add(citizen)
                    await session.flush()
                    citizen_ids[telegram_id] = citizen.id
                for r in reports:
                    session.add(
                        Report(
                            reference=r.reference,
                            commitment_id=commitment_ids[r.commitment],
                            citizen_id=citizen_ids[r.citizen],
                            kind=r.kind,
                            text=r.text,
                            language=r.language,
                            latitude=r.latitude,
                            longitude=r.longitude,
                            status=r.status,
                            created_at=r.created_at,
                            updated_at=r.created_at,
                        )
                    )
                number = 0
                for status, count in (outbox or {}).items():
                    for _ in range(count):
                        number += 1
                        await session.execute(
                            insert(OutboxMessage).values(
                                kind="notify",
                                idempotency_key=f"k{number}",
                                status=status,
                                payload={},
                            )
                        )
        finally:
            await db.dispose()

    asyncio.run(go())


def write_catalog(path: Path, commitments: list[dict[str, Any]]) -> Path:
    """A catalog in the project's own JSON format."""
    path.write_text(json.dumps(commitments, ensure_ascii=False), encoding="utf-8")
    return path
