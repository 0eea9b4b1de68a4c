"""The OGP commitments export (the IRM sheet, 171 columns) as commitment records.

Mapping (see bot/admin/FORMAT.md): "Commitment Unique Identifier" is the code, "Commitment Title"
and "Short Title" the English titles, "Full Text" the description, "Lead Institution" the agency
(its code a slug of the country and the name), the policy-area flag columns the theme, and the
IRM's assessment columns (IRM_COLUMNS) the commitment's `irm`, shown on its public scorecard
apart from citizens' evidence.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

from bot.admin.common import AdminError
from bot.admin.records import (
    AgencyRef,
    CommitmentRecord,
    RowError,
    cell_count_mismatch,
    numbered_rows,
)
from storage.text import fold_text

CODE = "Commitment Unique Identifier"
TITLE = "Commitment Title"
SHORT_TITLE = "Short Title"
FULL_TEXT = "Full Text"
LEAD = "Lead Institution"
THEME = "Theme"
START = "Start Date"
END = "End Date"
COUNTRY = "Country/Locality"
ACTION_PLAN = "Action Plan Number"
REQUIRED = (CODE, TITLE, SHORT_TITLE, FULL_TEXT, LEAD, THEME, START, END, COUNTRY, ACTION_PLAN)

# OGP's policy areas, each with the flag columns of its sub-themes, in the export's column order.
# A commitment's theme is the first area flagged 1, directly or through one of its sub-themes.
POLICY_AREAS: dict[str, tuple[str, ...]] = {
    "Anti-Corruption and Integrity": (
        "Anti-corruption Institutions",
        "Anti-Corruption Strategies",
        "Asset Disclosure",
        "Audits",
        "Beneficial Ownership",
        "Conflicts Of Interest",
        "Elections",
        "Political Finance",
        "Lobbying",
        "Open Contracting",
        "Public Procurement",
        "Right To Information",
        "Whistleblower Protections",
    ),
    "Civic Space and Enabling Environment": (
        "Freedom of Assembly",
        "Freedom of Association",
        "Freedom of Expression",
    ),
    "Democratizing Decision-Making": (
        "Digital Participation",
        "Mainstreaming Participation",
        "Regulatory Governance",
        "Social Accountability",
    ),
    "Digital Governance": (
        "Automated Decision-making",
        "Data Stewardship and Privacy",
        "Digital Inclusion",
        "Disinformation/Misinformation",
        "Online Civic Space",
    ),
    "Environment & Climate": (
        "Climate Finance",
        "Climate Mitigation and Adaptation",
        "Environmental Regulation",
        "International Environmental Agreements",
    ),
    "Fiscal Openness": (
        "Publication Of Budget/Fiscal Information",
        "Public Participation In Budget/Fiscal Policy",
        "Oversight Of Budget/Fiscal Policies",
        "Stimulus and Economic Recovery",
        "Tax",
        "Debt",
    ),
    "Inclusion": (
        "Gender",
        "Gender-Based Violence",
        "Economic Inclusion",
        "LGBTQIA+",
        "People with Disabilities",
        "Youth",
    ),
    "Justice": ("Access to Justice", "Open Justice", "Policing & Corrections", "Judiciary"),
    "Open Parliaments": (),
    "Public Service Delivery": (
        "Citizenship & Immigration",
        "Education",
        "Health & Nutrition",
        "Infrastructure & Transport",
        "Water & Sanitation",
    ),
}

# Older commitments carry only the legacy tags; these map plainly onto a policy area.
LEGACY_TAGS: dict[str, str] = {
    "Access to information": "Anti-Corruption and Integrity",
    "Money in Politics": "Anti-Corruption and Integrity",
    "Public Participation": "Democratizing Decision-Making",
    "Participation in Lawmaking": "Open Parliaments",
    "Legislative Oversight": "Open Parliaments",
    "Open Parliament Plan": "Open Parliaments",
}
OTHER_THEME = "Other"

# The Independent Reporting Mechanism's assessment: our key, then the export's columns, the first
# with a value wins (the current formula's star at the end of term, else at the progress report).
IRM_COLUMNS: dict[str, tuple[str, ...]] = {
    "specificity": ("Specificity",),
    "verifiable": ("Verifiable",),
    "relevant": ("_Relevant",),
    "potential_impact": ("Potential Impact",),
    "potential_for_results": ("Potential for Results",),
    "completion_progress": ("Completion (Progress Report)",),
    "completion_end_of_term": ("Completion (End Of Term)",),
    "did_it_open_government": ("Did It Open Government (Overall)",),
    "early_results": ("Early Results",),
    "starred": (
        "Starred (Current Formula) End of Term",
        "Starred (Current Formula) Progress Report",
    ),
    "latest_irm_report": ("Latest IRM Report",),
    "url": ("URL",),
}
# Flags written 1/0 in the export, kept as yes/no.
IRM_FLAGS = frozenset({"relevant", "starred"})
# "Not reviewed" and "no data" are no assessment: nothing is kept for them.
IRM_MISSING = frozenset({"nr"})

MISSING = frozenset({"", "na", "nd", "n/a"})
# Phrases used instead of a date for work without a fixed start or end.
OPEN_ENDED = frozenset(
    {"underway", "in progress", "ongoing", "on-going", "permanent", "permanent activity"}
)
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11)}
_EXCEL_EPOCH = date(1899, 12, 30)
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
_NAME_SLUG_MAX = 60
_MAX_CELL = 16 * 1024 * 1024


def looks_like_ogp(header: Sequence[str]) -> bool:
    names = {h.strip() for h in header}
    return CODE in names and TITLE in names


def parse(text: str) -> list[CommitmentRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise AdminError(f"not an OGP commitments export: no column {missing[0]!r}")
    index = {name: i for i, name in enumerate(header)}
    rows = []
    for row_no, cells in numbered_rows(reader):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise RowError(row_no, cell_count_mismatch(len(cells), len(header)))
        rows.append((row_no, cells))
    day_first = _day_first_plans(rows, index)
    records = []
    for row_no, cells in rows:
        try:
            records.append(_record(row_no, cells, index, day_first))
        except ValueError as exc:
            raise RowError(row_no, str(exc)) from None
    return records


def _plan(cells: list[str], index: dict[str, int]) -> tuple[str, str]:
    return cells[index[COUNTRY]].strip(), cells[index[ACTION_PLAN]].strip()


def _day_first_plans(
    rows: list[tuple[int, list[str]]], index: dict[str, int]
) -> set[tuple[str, str]]:
    """Action plans that write day/month/year: the sheet mixes US and European dates, but each
    plan sticks to one; a plan with a date like 31/12/2016 reads 1/7/2014 as 1 July."""
    plans = set()
    for _row_no, cells in rows:
        for column in (START, END):
            if (m := _SLASHED.fullmatch(cells[index[column]].strip())) and int(m[1]) > 12:
                plans.add(_plan(cells, index))
    return plans


def _record(
    row_no: int, cells: list[str], index: dict[str, int], day_first_plans: set[tuple[str, str]]
) -> CommitmentRecord:
    def value(column: str) -> str | None:
        raw = cells[index[column]].strip()
        return None if raw.lower() in MISSING else raw

    code = value(CODE)
    if code is None:
        raise ValueError(f"{CODE} is empty")
    title, short, full = value(TITLE), value(SHORT_TITLE), value(FULL_TEXT)
    if title is None:
        raise ValueError(f"{TITLE} is empty for {code}")
    country = clean_name(value(COUNTRY) or "") or None
    institutions = split_institutions(value(LEAD) or "")
    agencies: dict[str, AgencyRef] = {}
    for name in institutions:  # each institution once, the lead first
        ref = AgencyRef(agency_code(country, name), {"en": name})
        agencies.setdefault(ref.code, ref)
    lead, *partners = agencies.values() if agencies else (None,)
    day_first = _plan(cells, index) in day_first_plans
    return CommitmentRecord(
        row=row_no,
        code=code,
        titles={"en": " ".join(title.split())},
        short_titles={"en": " ".join(short.split())} if short else {},
        descriptions={"en": full} if full else {},
        action_plan=value(ACTION_PLAN),
        theme=theme_of(cells, index),
        country=country,
        agency=lead,
        partners=tuple(partners),
        start_date=parse_date(value(START), START, end=False, day_first=day_first),
        end_date=parse_date(value(END), END, end=True, day_first=day_first),
        irm=irm_of(cells, index),
    )


def irm_of(cells: list[str], index: dict[str, int]) -> dict[str, str]:
    """The IRM's assessment columns the row has a value in, by IRM_COLUMNS key; flags as
    "yes"/"no". Empty for a commitment the IRM has not assessed (or an export without them)."""
    found: dict[str, str] = {}
    for key, columns in IRM_COLUMNS.items():
        for column in columns:
            raw = " ".join(cells[index[column]].split()) if column in index else ""
            if raw.lower() in MISSING or raw.lower() in IRM_MISSING:
                continue
            if key in IRM_FLAGS:
                if raw not in ("0", "1"):
                    continue
                raw = "yes" if raw == "1" else "no"
            found[key] = raw
            break
    return found


def theme_of(cells: list[str], index: dict[str, int]) -> str:
    """The first policy area flagged (itself or through a sub-theme), else one a legacy tag
    maps to, else "Other"; the free-text Theme column names each plan's own clusters and would
    scatter the catalog over a hundred one-off themes."""

    def flagged(column: str) -> bool:
        return column in index and cells[index[column]].strip() == "1"

    for area, subthemes in POLICY_AREAS.items():
        if flagged(area) or any(flagged(s) for s in subthemes):
            return area
    for tag, area in LEGACY_TAGS.items():
        if flagged(tag):
            return area
    return OTHER_THEME


def clean_name(text: str) -> str:
    """Institution names arrive as pasted lists: drop bullets (private-use glyphs, ●, •)."""
    kept = "".join(" " if unicodedata.category(ch) == "Co" or ch in "●•▪◦" else ch for ch in text)
    return " ".join(kept.split())


# Lists pasted into the cell: a bullet, "(a)" or a dash at the start of a line opens an item.
_LIST_ITEM = re.compile(r"(?m)^[ \t]*(?:[●•▪◦\ue000-\uf8ff]|\([a-z]\)|-(?=\s))[ \t]*")
# "X and Ministry of Y", "X & the Office of Y": a second institution, not a name with "and".
_AND_INSTITUTION = re.compile(
    r"\s+(?:and|&)\s+(?=(?:the\s+)?(?:Ministry|Ministries|Department|Office|Secretariat|"
    r"Agency|Commission|Council|Directorate)\s+(?:of|for)\b)"
)
_SEMICOLON = re.compile(r"\s*;\s*")


def split_institutions(raw: str) -> list[str]:
    """The lead institution first, then the partners, as the export's "Lead Institution" lists
    them: items of a pasted list (bullets, (a), dashes), parts between semicolons, "X and
    Ministry of Y", and "Ministry of Justice/Nigeria Union of Journalists". Names that merely
    contain "and", "&", "/" or commas stay whole (see bot/admin/FORMAT.md)."""
    items = [item for item in _LIST_ITEM.split(raw) if item.strip()]
    names: list[str] = []
    for item in items:
        for part in _split_outside_brackets(clean_name(item), _SEMICOLON):
            for piece in _split_outside_brackets(part, _AND_INSTITUTION):
                names.extend(_split_slash(piece))
    cleaned = (_tidy(name, first=i == 0) for i, name in enumerate(names))
    return [name for name in cleaned if name]


def _split_outside_brackets(text: str, separator: re.Pattern[str]) -> list[str]:
    """Split at the separator's matches that are not inside parentheses."""
    parts, start = [], 0
    for match in separator.finditer(text):
        if text[: match.start()].count("(") <= text[: match.start()].count(")"):
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return parts


def _split_slash(text: str) -> list[str]:
    """A slash between two names ("Ministry of Justice/Nigeria Union of Journalists"), not an
    abbreviation in slashes ("/MEG/"), a pair of words ("Policy/Governance", "Provincial/UB
    Governors") or a slash inside a list with commas."""
    parts = [p.strip() for p in text.split("/")]
    separate = len(parts) > 1 and "," not in text
    if separate and all(len(p.split()) >= 2 and p[0].isupper() for p in parts):
        return parts
    return [text]


def _tidy(name: str, *, first: bool) -> str:
    name = name.strip().rstrip(",;:.").strip()
    # "... and the Ministry of Culture": the partner is the Ministry of Culture.
    return name if first else re.sub(r"^the\s+", "", name)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold_text(text)).strip("-")


def agency_code(country: str | None, name: str) -> str:
    """`<country-slug>/<name-slug>`: the same ministry name in two countries is two agencies."""
    name_slug = slug(name)
    # Of the whole slug, so that names differing only in case, accents or punctuation agree.
    digest = hashlib.sha1((name_slug or name).encode()).hexdigest()[:8]
    name_slug = name_slug or f"agency-{digest}"
    if len(name_slug) > _NAME_SLUG_MAX:
        name_slug = f"{name_slug[: _NAME_SLUG_MAX - 9].rstrip('-')}-{digest}"
    return f"{slug(country or '') or 'ogp'}/{name_slug}"


def parse_date(raw: str | None, column: str, *, end: bool, day_first: bool = False) -> date | None:
    """A date as the export writes it; a period (month, quarter, year) gives its first day
    for a start date and its last day for an end date."""
    if raw is None:
        return None
    text = " ".join(raw.lower().replace(",", " ").split())
    if text in OPEN_ENDED:
        return None
    period = _period(text, day_first)
    if period is None:
        raise ValueError(
            f"{column}: cannot read {raw!r} (expected M/D/YYYY, a month and year, a quarter, "
            "a year, NA or ND)"
        )
    return period[1] if end else period[0]


def _period(text: str, day_first: bool) -> tuple[date, date] | None:
    try:
        if m := _SLASHED.fullmatch(text):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            first, second = int(m[1]), int(m[2])
            # Month/day/year (US) unless the plan writes day first or the date can only be D/M/Y.
            if first > 12 or (day_first and second <= 12):
                first, second = second, first
            day = date(year, first, second)
            return day, day
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
            day = date(int(m[1]), int(m[2]), int(m[3]))
            return day, day
        if m := re.fullmatch(r"\d{4}", text):
            return date(int(text), 1, 1), date(int(text), 12, 31)
        if m := re.fullmatch(r"\d{5}", text):
            # A spreadsheet serial day number that lost its date format.
            day = _EXCEL_EPOCH + timedelta(days=int(text))
            return (day, day) if 1950 <= day.year <= 2100 else None
        if m := re.fullmatch(r"([a-z]+)\.? (\d{4})", text):
            return _named_period(m[1], int(m[2]))
        if m := re.fullmatch(r"(?:quarter ?|q)([1-4]) (?:of )?(\d{4})", text):
            return _months(int(m[2]), 3 * int(m[1]) - 2, 3 * int(m[1]))
        if m := re.fullmatch(r"(i{1,3}|iv) quarter (?:of )?(\d{4})", text):
            quarter = _ROMAN[m[1]]
            return _months(int(m[2]), 3 * quarter - 2, 3 * quarter)
    except ValueError:
        return None
    return None


def _named_period(name: str, year: int) -> tuple[date, date] | None:
    if name in _MONTHS:
        return _months(year, _MONTHS[name], _MONTHS[name])
    if name in _SEASONS:
        return _months(year, *_SEASONS[name])
    if name == "winter":
        return date(year, 12, 1), date(year + 1, 3, 1) - timedelta(days=1)
    return None


def _months(year: int, first: int, last: int) -> tuple[date, date]:
    return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])
