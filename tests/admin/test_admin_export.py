"""export (CSV, GeoJSON; public by default; streamed) and stats."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from admin_support import CliResult, ReportSpec, assert_one_line_error, migrate, rows, seed
from sqlalchemy import insert

from bot.admin.export import PUBLIC_FIELDS, export_reports
from bot.reports.selection import statuses
from storage.db import Database
from storage.models import Citizen, Commitment, Report
from storage.queries.exports import ReportFilter
from tests.support.geo import metres_between

Cli = Callable[..., CliResult]
PUBLIC = ["published", "acknowledged", "in_progress", "reopened", "resolved", "duplicate",
          "not_responsible", "no_action"]  # fmt: skip
PRIVATE = ["draft", "pending_review", "rejected", "withdrawn"]
CITIZEN_TELEGRAM_ID = 987654321


def day(d: int) -> datetime:
    return datetime(2024, 5, d, 10, 30, tzinfo=UTC)


REPORTS = [
    ReportSpec("R-PUB", "A-1", "published", CITIZEN_TELEGRAM_ID, "Pothole, \"deep\"\nnear school",
               10.5, 7.4, day(1)),
    ReportSpec("R-ACK", "A-1", "acknowledged", 555, "Broken light", None, None, day(2)),
    ReportSpec("R-RES", "B-1", "resolved", CITIZEN_TELEGRAM_ID, "Fixed?", -1.25, 36.8, day(3)),
    ReportSpec("R-DUP", "N-1", "duplicate", 555, "Same", 1.0, 2.0, day(4)),
    ReportSpec("R-DRAFT", "A-1", "draft", 555, "secret draft", 1.0, 2.0, day(5)),
    ReportSpec("R-PEND", "B-1", "pending_review", CITIZEN_TELEGRAM_ID, "waiting", None, None, day(6)),
    ReportSpec("R-REJ", "A-1", "rejected", 555, "insult", None, None, day(7)),
]  # fmt: skip


@pytest.fixture
def reports(db_url: str) -> None:
    seed(db_url, {"A-1": "a", "B-1": "b", "N-1": None}, REPORTS, agencies=["a", "b"])


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_holds_public_reports_and_fields_only(cli: Cli, reports: None) -> None:
    result = cli("export")
    assert result.code == 0, result.err
    assert result.err == ""
    records = parse_csv(result.out)
    assert list(records[0]) == list(PUBLIC_FIELDS)
    assert [r["reference"] for r in records] == ["R-PUB", "R-ACK", "R-RES", "R-DUP"]
    first = records[0]
    assert first == {
        "reference": "R-PUB",
        "commitment_code": "A-1",
        "kind": "problem",
        "public_text": 'Pothole, "deep"\nnear school',
        "language": "en",
        "latitude": first["latitude"],
        "longitude": first["longitude"],
        "status": "published",
        "created_at": "2024-05-01T10:30:00Z",
        "updated_at": "2024-05-01T10:30:00Z",
        "media_url": "",  # no photos, and no PUBLIC_BASE_URL to link them from
    }
    assert_coarse((float(first["latitude"]), float(first["longitude"])), (10.5, 7.4), 100)
    assert records[1]["latitude"] == "" and records[1]["longitude"] == ""
    for secret in ("secret draft", "waiting", "insult", str(CITIZEN_TELEGRAM_ID), "citizen"):
        assert secret not in result.out


def test_include_private_adds_internal_citizen_id_and_every_status(
    cli: Cli, db_url: str, reports: None
) -> None:
    result = cli("export", "--include-private")
    records = parse_csv(result.out)
    assert [r["reference"] for r in records] == [r.reference for r in REPORTS]
    internal = dict(rows(db_url, "SELECT telegram_user_id, id FROM citizens"))
    assert records[0]["citizen_id"] == str(internal[CITIZEN_TELEGRAM_ID])
    # The internal id, never the Telegram id.
    assert str(CITIZEN_TELEGRAM_ID) not in result.out
    # Never for publication: the exact point, as the agency gets it.
    assert (records[0]["latitude"], records[0]["longitude"]) == ("10.5", "7.4")


def assert_coarse(shown: tuple[float, float], exact: tuple[float, float], grid_m: float) -> None:
    """Shown is not the point, but the centre of the point's cell: within half a diagonal."""
    assert shown != exact
    assert metres_between(shown, exact) <= grid_m * math.sqrt(2) / 2 + 0.5, (shown, exact)


def test_public_locations_follow_the_grid_setting(
    cli: Cli, reports: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fine = parse_csv(cli("export").out)[0]
    monkeypatch.setenv("PUBLIC_LOCATION_GRID_M", "2000")
    result = cli("export")
    assert result.code == 0, result.err
    wide = parse_csv(result.out)[0]
    shown = (float(wide["latitude"]), float(wide["longitude"]))
    assert_coarse(shown, (10.5, 7.4), 2000)
    assert shown != (float(fine["latitude"]), float(fine["longitude"]))
    monkeypatch.setenv("PUBLIC_LOCATION_GRID_M", "0")
    refused = cli("export")
    assert refused.code != 0 and refused.out == ""
    assert refused.err.strip() == (
        "configuration error: PUBLIC_LOCATION_GRID_M is invalid: "
        "expected metres from 1 to 10000, got '0'"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--commitment", "A-1"], ["R-PUB", "R-ACK"]),
        (["--commitment", "a-1"], ["R-PUB", "R-ACK"]),
        (["--agency", "b"], ["R-RES"]),
        (["--status", "resolved", "duplicate"], ["R-RES", "R-DUP"]),
        (["--status", "published,acknowledged"], ["R-PUB", "R-ACK"]),
        (["--since", "2024-05-02"], ["R-ACK", "R-RES", "R-DUP"]),
        (["--until", "2024-05-02"], ["R-PUB", "R-ACK"]),
        (["--since", "2024-05-02", "--until", "2024-05-03"], ["R-ACK", "R-RES"]),
        (["--since", "2024-05-02T11:00:00"], ["R-RES", "R-DUP"]),
        (["--agency", "a", "--include-private", "--status", "draft", "rejected"],
         ["R-DRAFT", "R-REJ"]),
    ],
)  # fmt: skip
def test_filters(cli: Cli, reports: None, options: list[str], expected: list[str]) -> None:
    result = cli("export", *options)
    assert result.code == 0, result.err
    assert [r["reference"] for r in parse_csv(result.out)] == expected


def test_geojson(cli: Cli, reports: None, tmp_path: Path) -> None:
    out = tmp_path / "reports.geojson"
    result = cli("export", "--format", "geojson", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"exported 4 reports to {out} (geojson)"
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["id"] for f in features] == ["R-PUB", "R-ACK", "R-RES", "R-DUP"]
    assert features[0]["geometry"]["type"] == "Point"
    lon, lat = features[0]["geometry"]["coordinates"]
    assert_coarse((lat, lon), (10.5, 7.4), 100)
    assert features[1]["geometry"] is None
    lon, lat = features[2]["geometry"]["coordinates"]
    assert_coarse((lat, lon), (-1.25, 36.8), 100)
    assert features[0]["properties"] == {
        "reference": "R-PUB",
        "commitment_code": "A-1",
        "kind": "problem",
        "public_text": 'Pothole, "deep"\nnear school',
        "language": "en",
        "status": "published",
        "created_at": "2024-05-01T10:30:00Z",
        "updated_at": "2024-05-01T10:30:00Z",
        "media_url": None,
    }
    assert not (tmp_path / "reports.geojson.tmp").exists()


def test_geojson_of_nothing_is_an_empty_collection(cli: Cli, db_url: str) -> None:
    migrate(db_url)
    result = cli("export", "--format", "geojson")
    assert json.loads(result.out) == {"type": "FeatureCollection", "features": []}
    assert parse_csv(cli("export").out) == []


def test_csv_to_a_file(cli: Cli, reports: None, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = cli("export", "--out", str(out), "--status", "published")
    assert result.out.strip() == f"exported 1 report to {out} (csv)"
    assert [r["reference"] for r in parse_csv(out.read_text(encoding="utf-8"))] == ["R-PUB"]


@pytest.mark.parametrize(
    ("options", "message", "code"),
    [
        (["--status", "draft"], "--status: draft is not public; add --include-private", 2),
        (["--status", "lost"], "--status: unknown status 'lost'", 2),
        (["--since", "yesterday"], "--since: expected a date such as 2024-01-31", 2),
        (["--until", "2024-13-01"], "--until: expected a date", 2),
        (["--since", "2024-05-03", "--until", "2024-05-02"], "--since must come before", 2),
        (["--commitment", "NOPE"], "unknown commitment 'NOPE'", 1),
        (["--agency", "nope"], "unknown agency 'nope'", 1),
    ],
)
def test_export_errors(
    cli: Cli, reports: None, tmp_path: Path, options: list[str], message: str, code: int
) -> None:
    out = tmp_path / "x.csv"
    assert_one_line_error(cli("export", *options, "--out", str(out)), message, code=code)
    assert not out.exists() and not (tmp_path / "x.csv.tmp").exists()


def test_unwritable_output_leaves_nothing(cli: Cli, reports: None, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "x.csv"
    assert_one_line_error(cli("export", "--out", str(target)), "missing-folder", code=1)


def test_status_sets() -> None:
    assert statuses(None, False) == frozenset(PUBLIC)
    assert statuses(None, True) == frozenset(PUBLIC + PRIVATE)


# --- streaming -------------------------------------------------------------------------------


class CountingSink(io.TextIOBase):
    """Discards what is written, counting characters: the export's output costs no memory."""

    def __init__(self) -> None:
        self.characters = 0

    def write(self, text: str) -> int:
        self.characters += len(text)
        return len(text)


async def bulk_reports(url: str, count: int) -> None:
    db = Database(url)
    try:
        async with db.write() as session:
            session.add(Commitment(code="BULK", titles={"en": "Bulk"}, search_text="bulk"))
            session.add(Citizen(telegram_user_id=1))
        async with db.write() as session:
            now = datetime(2024, 1, 1, tzinfo=UTC)
            batch = [
                {
                    "reference": f"B{i:08d}",
                    "commitment_id": 1,
                    "citizen_id": 1,
                    "kind": "problem",
                    "text": f"report number {i} " * 4,
                    "language": "en",
                    "latitude": 10.0 + i * 1e-6,
                    "longitude": 7.0,
                    "status": "published",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ]
            await session.execute(insert(Report), batch)
    finally:
        await db.dispose()


async def peak_memory_of_export(url: str, fmt: str) -> tuple[int, int]:
    db = Database(url)
    try:
        where = ReportFilter(statuses=frozenset(PUBLIC))
        sink = CountingSink()
        tracemalloc.start()
        count = await export_reports(db, where, fmt, sink, 100)  # type: ignore[arg-type]
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return count, peak
    finally:
        await db.dispose()


SIZES = (2_000, 20_000)


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_export_memory_does_not_grow_with_the_number_of_reports(tmp_path: Path, fmt: str) -> None:
    peaks = {}
    for count in SIZES:
        url = f"sqlite+aiosqlite:///{tmp_path / f'bulk{count}.db'}"
        migrate(url)
        asyncio.run(bulk_reports(url, count))
        exported, peaks[count] = asyncio.run(peak_memory_of_export(url, fmt))
        assert exported == count
    # Ten times the reports, about the same memory: rows are fetched and written in batches.
    assert peaks[SIZES[1]] < 1.5 * peaks[SIZES[0]], peaks


# --- stats -----------------------------------------------------------------------------------


def test_stats(cli: Cli, db_url: str, reports: None) -> None:
    seed(db_url, {}, [], outbox={"pending": 3, "failed": 2, "sent": 5})
    result = cli("stats", "--top", "2", "--json")
    assert result.code == 0, result.err
    figures = json.loads(result.out)
    assert figures["reports_total"] == len(REPORTS)
    per_status = figures["reports_per_status"]
    assert set(per_status) >= set(PUBLIC + PRIVATE)
    for status in PUBLIC + PRIVATE:
        assert per_status[status] == sum(1 for r in REPORTS if r.status == status)
    assert figures["top_commitments"] == [
        {"code": "A-1", "reports": 4},
        {"code": "B-1", "reports": 2},
    ]
    assert figures["reports_per_agency"] == [
        {"agency": "a", "reports": 4},
        {"agency": "b", "reports": 2},
        {"agency": None, "reports": 1},
    ]
    assert figures["outbox"] == {"pending": 3, "failed": 2}

    table = cli("stats").out
    assert "reports per status (total 7)" in table
    assert "top 10 commitments by reports" in table
    assert "(no agency)" in table
    lines = table.splitlines()
    outbox = lines[lines.index("outbox backlog") + 1 :]
    assert [line.split() for line in outbox] == [["pending", "3"], ["failed", "2"]]


def test_stats_on_an_empty_database(cli: Cli) -> None:
    result = cli("stats")
    assert result.code == 0
    assert "reports per status (total 0)" in result.out
    assert "(none)" in result.out


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_stats_top_must_be_positive(cli: Cli, value: str) -> None:
    assert_one_line_error(cli("stats", "--top", value), "--top: expected a whole number", code=2)


def test_redacted_text_is_what_the_public_gets(cli: Cli, db_url: str, reports: None) -> None:
    import sqlite3

    path = db_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE reports SET text = 'Call +234 803 123 4567', public_text = 'Call [...]' "
            "WHERE reference = 'R-ACK'"
        )
    public = {r["reference"]: r for r in parse_csv(cli("export").out)}
    assert public["R-ACK"]["public_text"] == "Call [...]"
    assert (
        "+234" not in cli("export").out and "+234" not in cli("export", "--format", "geojson").out
    )
    private = {r["reference"]: r for r in parse_csv(cli("export", "--include-private").out)}
    assert private["R-ACK"]["public_text"] == "Call [...]"
    assert private["R-ACK"]["original_text"] == "Call +234 803 123 4567"
    assert private["R-PUB"]["original_text"] == private["R-PUB"]["public_text"]
