"""Reading import files: the project's own CSV/JSON/YAML format (bot/admin/FORMAT.md) and, via
bot.admin.ogp, the OGP commitments export. Every format ends as a list of CommitmentRecord."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.admin import ogp
from bot.admin.common import AdminError, UsageError
from bot.admin.records import (
    AgencyRef,
    CommitmentRecord,
    RowError,
    cell_count_mismatch,
    check_language,
    numbered_rows,
)

FORMATS = ("auto", "csv", "json", "yaml", "ogp")
# Per-language fields: a column title_en, or a mapping titles: {en: ...}.
LANGUAGE_FIELDS = {
    "title": "titles",
    "short_title": "short_titles",
    "description": "descriptions",
    "agency_name": "agency_names",
}
TEXT_FIELDS = ("code", "action_plan", "theme", "country", "agency_code")
NUMBER_FIELDS = ("latitude", "longitude", "radius_m")
DATE_FIELDS = ("start_date", "end_date")
NESTED_FIELDS = ("titles", "short_titles", "descriptions", "agency")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Descriptions can be long; the csv module's default cell limit is 128 KiB.
_MAX_CELL = 16 * 1024 * 1024


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AdminError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AdminError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise AdminError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".json",):
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".csv":
        return "ogp" if ogp.looks_like_ogp(_first_csv_row(text)) else "csv"
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "json"
    if ogp.looks_like_ogp(_first_csv_row(text)):
        return "ogp"
    raise UsageError(
        f"{path}: cannot tell the format from the name; add --format csv|json|yaml|ogp"
    )


def _first_csv_row(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return []


def parse(path: Path, text: str, fmt: str) -> list[CommitmentRecord]:
    """All rows of the file as records; the caller validates them."""
    if fmt == "ogp":
        return ogp.parse(text)
    if fmt == "csv":
        return list(_parse_csv(text))
    if fmt == "json":
        return _parse_items(_load_json(path, text))
    if fmt == "yaml":
        return _parse_items(_load_yaml(path, text))
    raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --- CSV -------------------------------------------------------------------------------------


def _parse_csv(text: str) -> Iterator[CommitmentRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise AdminError(f"row 1: {exc}") from None
    _check_header(header)
    # Rows counted as a spreadsheet shows them: the header is row 1.
    for row_no, cells in numbered_rows(reader):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise RowError(row_no, cell_count_mismatch(len(cells), len(header)))
        yield record_from_mapping(row_no, dict(zip(header, cells, strict=False)))


def _check_header(header: list[str]) -> None:
    if not header or "code" not in header:
        raise AdminError(
            "the CSV header has no 'code' column (see bot/admin/FORMAT.md; "
            "for an OGP export use --format ogp)"
        )
    if not any(h.startswith("title_") for h in header):
        raise AdminError("the CSV header has no title column such as title_en")
    for name in header:
        try:
            _field_of(name)
        except ValueError as exc:
            raise AdminError(f"CSV header: {exc}") from None
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise AdminError(f"CSV header: column {duplicates[0]!r} appears twice")


def _field_of(name: str) -> tuple[str, str | None]:
    """(field, language) for a column or key name; ValueError for an unknown one."""
    if name in TEXT_FIELDS or name in NUMBER_FIELDS or name in DATE_FIELDS:
        return name, None
    if name in NESTED_FIELDS:
        return name, None
    # Longest prefix first: short_title_ must not be read as title_.
    for prefix in sorted(LANGUAGE_FIELDS, key=len, reverse=True):
        if name.startswith(prefix + "_"):
            language = check_language(name[len(prefix) + 1 :], name)
            return LANGUAGE_FIELDS[prefix], language
    raise ValueError(f"unknown column {name!r} (see bot/admin/FORMAT.md)")


# --- JSON and YAML ---------------------------------------------------------------------------


def _load_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdminError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _load_yaml(path: Path, text: str) -> Any:
    import yaml  # only needed for YAML files

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise AdminError(f"{path}: not valid YAML: {problem}{where}") from None


def _parse_items(data: Any) -> list[CommitmentRecord]:
    if isinstance(data, Mapping) and "commitments" in data:
        data = data["commitments"]
    if not isinstance(data, list):
        raise AdminError("expected a list of commitments, or an object with a 'commitments' list")
    records = []
    # In JSON and YAML, row N is the N-th commitment in the list.
    for row_no, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            raise RowError(row_no, "expected an object with code, titles, ...")
        records.append(record_from_mapping(row_no, item))
    return records


# --- one row ---------------------------------------------------------------------------------


def record_from_mapping(row_no: int, data: Mapping[str, Any]) -> CommitmentRecord:
    try:
        return _record(row_no, data)
    except ValueError as exc:
        raise RowError(row_no, str(exc)) from None


def _record(row_no: int, data: Mapping[str, Any]) -> CommitmentRecord:
    texts: dict[str, dict[str, str]] = {f: {} for f in LANGUAGE_FIELDS.values()}
    scalars: dict[str, Any] = {}
    agency_code: str | None = None
    for key, value in data.items():
        name, language = _field_of(str(key).strip())
        if language is not None:
            if (text := _text(value, key)) is not None:
                texts[name][language] = text
        elif name in ("titles", "short_titles", "descriptions"):
            texts[name].update(_languages(value, name))
        elif name == "agency":
            agency_code = _agency(value, texts["agency_names"])
        elif name == "agency_code":
            agency_code = _text(value, name)
        elif name in NUMBER_FIELDS:
            scalars[name] = _number(value, name)
        elif name in DATE_FIELDS:
            scalars[name] = _date(value, name)
        else:
            scalars[name] = _text(value, name)
    if texts["agency_names"] and agency_code is None:
        raise ValueError("agency names are given without agency_code")
    return CommitmentRecord(
        row=row_no,
        code=scalars.pop("code", None) or "",
        titles=texts["titles"],
        short_titles=texts["short_titles"],
        descriptions=texts["descriptions"],
        agency=AgencyRef(agency_code, texts["agency_names"]) if agency_code else None,
        **scalars,
    )


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected text, got {value} (quote it in YAML)")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got a {type(value).__name__}")
    text = value.strip()
    return text or None


def _languages(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected a mapping of language to text, such as {{en: ...}}")
    result = {}
    for language, text in value.items():
        code = check_language(str(language), name)
        if (cleaned := _text(text, f"{name}.{language}")) is not None:
            result[code] = cleaned
    return result


def _agency(value: Any, names: dict[str, str]) -> str | None:
    """`agency: CODE` or `agency: {code: CODE, names: {en: ...}}`; fills `names`."""
    if value is None or isinstance(value, str | int):
        return _text(value, "agency")
    if not isinstance(value, Mapping):
        raise ValueError("agency: expected a code or a mapping with code and names")
    unknown = set(value) - {"code", "names"}
    if unknown:
        raise ValueError(f"agency: unknown field {sorted(unknown)[0]!r}; expected code and names")
    names.update(_languages(value.get("names"), "agency.names"))
    code = _text(value.get("code"), "agency.code")
    if code is None:
        raise ValueError("agency: code is missing")
    return code


def _number(value: Any, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, got {value}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    return number


def _date(value: Any, name: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a date as YYYY-MM-DD, got {value!r}")
