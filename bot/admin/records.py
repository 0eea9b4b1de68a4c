"""One commitment as read from an import file, whatever its format, and the checks every row
passes before anything is written.

A field left as None (or an empty mapping) means "not given": importing leaves the stored value
alone, so a second file can add a translation or coordinates without repeating everything.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from bot.admin.common import AdminError
from bot.catalog.commitments import MAX_NEARBY_RADIUS_M
from bot.catalog.deeplinks import PayloadTooLong, commitment_payload
from bot.i18n.translate import ngettext

MAX_CODE_LENGTH = 255
MAX_AGENCY_CODE_LENGTH = 128
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
AGENCY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class RowError(AdminError):
    """A row of the import file is wrong; the whole file is rejected."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(f"row {row}: {reason}; nothing was imported")
        self.row = row
        self.reason = reason


@dataclass(frozen=True)
class AgencyRef:
    code: str
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitmentRecord:
    row: int
    code: str
    titles: dict[str, str]
    short_titles: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    action_plan: str | None = None
    theme: str | None = None
    country: str | None = None
    agency: AgencyRef | None = None
    # Institutions named with the lead agency; None: not given (the stored ones stay).
    partners: tuple[AgencyRef, ...] | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    start_date: date | None = None
    end_date: date | None = None
    # The OGP IRM's assessment (bot/admin/ogp.py IRM_COLUMNS); None: not given (the stored one
    # stays). Only the OGP export carries it.
    irm: dict[str, str] | None = None


def cell_count_mismatch(cells: int, header: int) -> str:
    """A CSV row whose cells do not match its header, in words that count right."""
    return ngettext(
        "{count} cell but the header names {header}",
        "{count} cells but the header names {header}",
        cells,
    ).format(count=cells, header=header)


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def check_language(code: str, where: str) -> str:
    language = code.strip().lower()
    if not LANGUAGE_CODE.match(language):
        raise ValueError(f"{where}: {code!r} is not a language code such as en, fr or ha")
    return language


def validate(record: CommitmentRecord) -> None:
    """Raise RowError naming the row for the first problem found."""
    try:
        _validate(record)
    except ValueError as exc:
        raise RowError(record.row, str(exc)) from None


def _validate(r: CommitmentRecord) -> None:
    if not r.code:
        raise ValueError("code is missing")
    if len(r.code) > MAX_CODE_LENGTH or has_control_characters(r.code):
        raise ValueError(f"code must be at most {MAX_CODE_LENGTH} printable characters")
    try:
        commitment_payload(r.code)
    except PayloadTooLong:
        # The code travels in the QR code's deep link, which Telegram caps at 64 characters.
        raise ValueError(
            f"code {r.code[:40]!r} is too long for a QR deep link: use at most 62 of "
            "A-Z a-z 0-9 _ -, or at most 45 bytes of other characters"
        ) from None
    if not any(t.strip() for t in r.titles.values()):
        raise ValueError(f"commitment {r.code} has no title")
    _validate_location(r)
    if r.start_date and r.end_date and r.start_date > r.end_date:
        raise ValueError(f"start date {r.start_date} is after end date {r.end_date}")
    for ref in (r.agency, *(r.partners or ())):
        if ref is None:
            continue
        if len(ref.code) > MAX_AGENCY_CODE_LENGTH or not AGENCY_CODE.match(ref.code):
            raise ValueError(
                f"agency code {ref.code!r} must be 1-{MAX_AGENCY_CODE_LENGTH} letters, digits "
                "or . _ / - and start with a letter or digit"
            )


def _validate_location(r: CommitmentRecord) -> None:
    if (r.latitude is None) != (r.longitude is None):
        raise ValueError("latitude and longitude must be given together")
    for name, value in (("latitude", r.latitude), ("longitude", r.longitude)):
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a number")
    if r.latitude is not None and not -90 <= r.latitude <= 90:
        raise ValueError(f"latitude must lie between -90 and 90, got {r.latitude:g}")
    if r.longitude is not None and not -180 <= r.longitude <= 180:
        raise ValueError(f"longitude must lie between -180 and 180, got {r.longitude:g}")
    if r.radius_m is not None:
        if r.latitude is None:
            raise ValueError("radius_m needs latitude and longitude in the same row")
        if not (math.isfinite(r.radius_m) and 0 < r.radius_m <= MAX_NEARBY_RADIUS_M):
            raise ValueError(
                f"radius_m must be more than 0 and at most {MAX_NEARBY_RADIUS_M:g} metres, "
                f"got {r.radius_m:g}"
            )


def check_unique_codes(records: list[CommitmentRecord]) -> None:
    """Two rows with one code would overwrite each other; codes are compared ignoring case,
    as citizens type them."""
    seen: dict[str, int] = {}
    for record in records:
        key = record.code.casefold()
        if key in seen:
            raise RowError(record.row, f"code {record.code} repeats row {seen[key]}")
        seen[key] = record.row


def numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """A CSV reader's rows after the header, numbered as a spreadsheet shows them (the header
    is row 1); a row the csv module cannot read is a RowError naming it."""
    row_no = 1
    while True:
        row_no += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RowError(row_no, str(exc)) from None
        yield row_no, cells
