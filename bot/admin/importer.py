"""`import-commitments`: load a catalog file into the database in one transaction.

Every row is read and checked before anything is written, so a bad row rejects the whole file.
Re-importing updates commitments by code and never duplicates them.
"""

from __future__ import annotations

import argparse
import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.admin import formats
from bot.admin.common import AdminError, admin_command, open_database
from bot.admin.records import (
    AgencyRef,
    CommitmentRecord,
    RowError,
    check_unique_codes,
    validate,
)
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from storage.db import Database
from storage.models import Agency, Commitment
from storage.queries import catalog
from storage.text import fold_text

# Stands for the id of an agency this import would create (dry run: not created yet).
_NEW_AGENCY = -1
_FIELDS = (
    "titles",
    "short_titles",
    "descriptions",
    "action_plan",
    "theme",
    "country",
    "agency_id",
    "latitude",
    "longitude",
    "radius_m",
    "start_date",
    "end_date",
    "search_text",
    "irm",
)


@dataclass
class ImportSummary:
    rows: int = 0
    selected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    agencies_created: int = 0


def search_text(
    code: str, titles: dict[str, str], shorts: dict[str, str], descs: dict[str, str]
) -> str:
    """Code plus every title, short title and description, in every language, folded."""
    parts = [code]
    for texts in (titles, shorts, descs):
        parts.extend(texts[lang] for lang in sorted(texts))
    return fold_text(" ".join(parts))


def select_records(
    records: list[CommitmentRecord], country: str | None, action_plan: str | None
) -> list[CommitmentRecord]:
    selected = records
    if country is not None:
        wanted = country.strip().casefold()
        selected = [r for r in selected if (r.country or "").casefold() == wanted]
        if not selected:
            raise AdminError(_no_match("--country", country, {r.country or "" for r in records}))
    if action_plan is not None:
        plans = {r.action_plan or "" for r in selected}
        selected = [r for r in selected if (r.action_plan or "") == action_plan.strip()]
        if not selected:
            raise AdminError(_no_match("--action-plan", action_plan, plans))
    return selected


def _no_match(option: str, value: str, available: set[str]) -> str:
    choices = sorted(a for a in available if a)
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if not close and len(choices) <= 12:
        hint = f"; the file has: {', '.join(choices)}"
    return f"no commitment in the file matches {option} {value!r}{hint}"


def _merged_values(
    record: CommitmentRecord, current: Commitment | None, agency_id: int | None
) -> dict[str, Any]:
    """The commitment's fields after this row: given values replace, absent ones stay."""

    def old(name: str) -> Any:
        return getattr(current, name) if current is not None else None

    def texts(name: str) -> dict[str, str]:
        return {**(old(name) or {}), **getattr(record, name)}

    values: dict[str, Any] = {
        "titles": texts("titles"),
        "short_titles": texts("short_titles"),
        "descriptions": texts("descriptions"),
        "agency_id": agency_id if record.agency is not None else old("agency_id"),
    }
    for name in ("action_plan", "theme", "country", "start_date", "end_date", "irm"):
        given = getattr(record, name)
        values[name] = given if given is not None else old(name)
    if record.latitude is not None:
        values.update(latitude=record.latitude, longitude=record.longitude)
        values["radius_m"] = record.radius_m if record.radius_m is not None else old("radius_m")
    else:
        values.update({n: old(n) for n in ("latitude", "longitude", "radius_m")})
    code = current.code if current is not None else record.code
    values["search_text"] = search_text(
        code, values["titles"], values["short_titles"], values["descriptions"]
    )
    return values


def _agency_refs(record: CommitmentRecord) -> list[AgencyRef]:
    """The lead agency and the partners a row names."""
    return [ref for ref in (record.agency, *(record.partners or ())) if ref is not None]


def _new_agencies(
    records: list[CommitmentRecord], known: set[str], now: datetime
) -> dict[str, Agency]:
    """The agencies this import creates, named as the file names them. An agency that does not
    exist and that no row names is refused: it would reach officials and digests nameless."""
    new: dict[str, Agency] = {}
    rows: dict[str, list[int]] = {}
    for record in records:
        for ref in _agency_refs(record):
            if ref.code in known:
                continue
            agency = new.setdefault(
                ref.code, Agency(code=ref.code, names={}, created_at=now, updated_at=now)
            )
            agency.names = {**ref.names, **agency.names}
            rows.setdefault(ref.code, []).append(record.row)
    nameless = [code for code, agency in new.items() if not any(agency.names.values())]
    if nameless:
        code = nameless[0]
        others = sum(len(rows[c]) for c in nameless) - 1
        more = ""
        if others:
            more = ngettext(
                " ({count} more row names an unknown agency without a name)",
                " ({count} more rows name unknown agencies without a name)",
                others,
            ).format(count=others)
        raise RowError(
            rows[code][0],
            f"agency {code} does not exist and the file gives no name for it: add "
            f"agency_name_en (or another language) to the row, or first run: agencies add "
            f"{code} --name en=NAME{more}",
        )
    return new


async def _apply(
    db: Database, records: list[CommitmentRecord], now: datetime, dry_run: bool
) -> ImportSummary:
    summary = ImportSummary()
    # A dry run reads in a session that is rolled back; nothing is flushed there.
    unit = db.read() if dry_run else db.write()
    async with unit as session:
        existing = await catalog.commitments_by_codes(session, (r.code for r in records))
        by_folded = {code.casefold(): c for code, c in existing.items()}
        stored_partners = await catalog.partner_codes(session, (c.id for c in existing.values()))
        agencies = await catalog.agencies_by_codes(
            session, (ref.code for r in records for ref in _agency_refs(r))
        )
        new_agencies = _new_agencies(records, set(agencies), now)
        summary.agencies_created = len(new_agencies)
        if new_agencies and not dry_run:
            await catalog.add_all(session, new_agencies.values())
        agencies.update(new_agencies)

        created: list[tuple[Commitment, CommitmentRecord]] = []
        for record in records:
            current = by_folded.get(record.code.casefold())
            agency_id = None
            if record.agency is not None:
                agency_id = agencies[record.agency.code].id or _NEW_AGENCY
            values = _merged_values(record, current, agency_id)
            start, end = values["start_date"], values["end_date"]
            if start and end and start > end:
                # One date in the file, the other stored: the pair must still make sense.
                raise RowError(record.row, f"start date {start} would be after end date {end}")
            partners = None if record.partners is None else [p.code for p in record.partners]
            if current is None:
                summary.created += 1
                if not dry_run:
                    commitment = Commitment(
                        code=record.code, created_at=now, updated_at=now, **values
                    )
                    created.append((commitment, record))
            elif any(getattr(current, n) != values[n] for n in _FIELDS) or (
                partners is not None and partners != stored_partners.get(current.id, [])
            ):
                summary.updated += 1
                if not dry_run:
                    for name, value in values.items():
                        setattr(current, name, value)
                    current.updated_at = now
                    if partners is not None:
                        ids = [agencies[code].id for code in partners]
                        await catalog.replace_partners(session, current.id, ids)
            else:
                summary.unchanged += 1
        if created and not dry_run:
            await catalog.add_all(session, (commitment for commitment, _ in created))
            for commitment, record in created:
                if record.partners:
                    ids = [agencies[p.code].id for p in record.partners]
                    await catalog.replace_partners(session, commitment.id, ids)
    return summary


async def import_file(
    db: Database,
    path: Path,
    fmt: str = "auto",
    *,
    country: str | None = None,
    action_plan: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> tuple[str, ImportSummary]:
    """Read, check and apply one file; returns the format read and what changed."""
    text = formats.read_text(path)
    if fmt == "auto":
        fmt = formats.detect_format(path, text)
    try:
        records = formats.parse(path, text, fmt)
        if not records:
            raise AdminError(f"{path}: holds no commitments")
        for record in records:
            validate(record)
        check_unique_codes(records)
        selected = select_records(records, country, action_plan)
        summary = await _apply(db, selected, now or datetime.now(UTC), dry_run)
    except RowError as exc:
        # The file as given on the command line, then the row: `catalog.csv: row 7: ...`.
        raise AdminError(f"{path}: {exc}") from None
    summary.rows, summary.selected = len(records), len(selected)
    return fmt, summary


# --- command line ----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import-commitments",
        help="import commitments and agencies from CSV, JSON, YAML or the OGP export",
        description="Import commitments (and their agencies) from the project's own CSV, JSON or "
        "YAML format (bot/admin/FORMAT.md) or from the OGP commitments export. Re-importing "
        "updates by code and never duplicates. The whole file is one transaction: a bad row "
        "rejects it and changes nothing.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the file to import")
    parser.add_argument(
        "--format",
        choices=formats.FORMATS,
        default="auto",
        help="file format (default auto: by extension; an OGP export is recognised by its header)",
    )
    parser.add_argument(
        "--country", help="only rows of this Country/Locality (any letter case), e.g. Nigeria"
    )
    parser.add_argument("--action-plan", metavar="N", help="only rows of this action plan, e.g. 3")
    parser.add_argument(
        "--dry-run", action="store_true", help="check the file and print the summary; write nothing"
    )
    parser.set_defaults(handler=run_import)


@admin_command
async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db:
        fmt, summary = await import_file(
            db,
            args.file,
            args.format,
            country=args.country,
            action_plan=args.action_plan,
            dry_run=args.dry_run,
        )
    selected = ""
    if summary.selected != summary.rows:
        selected = f", {summary.selected} selected by the filters"
    read = ngettext(
        "read {count} commitment from {file} ({format} format)",
        "read {count} commitments from {file} ({format} format)",
        summary.rows,
    )
    print(read.format(count=summary.rows, file=args.file, format=fmt) + selected)
    print(
        f"commitments: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )
    print(f"agencies: {summary.agencies_created} created")
    if args.dry_run:
        print("dry run: nothing was written")
    return 0
