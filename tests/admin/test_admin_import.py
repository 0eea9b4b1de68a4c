"""import-commitments: the OGP export and the project's own CSV/JSON/YAML format."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from admin_support import (
    OGP_FULL_FILE,
    OGP_SAMPLE,
    CliResult,
    assert_one_line_error,
    commitment,
    real_ogp_export,
    rows,
    scalar,
    table_exists,
)

from bot.admin.ogp import POLICY_AREAS, clean_name, split_institutions
from storage.text import fold_text

Cli = Callable[..., CliResult]


def sample_rows() -> tuple[list[str], list[list[str]]]:
    with OGP_SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def write_csv(path: Path, header: list[str], body: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)
    return path


def snapshot(url: str) -> list[tuple[object, ...]]:
    return rows(url, "SELECT * FROM commitments ORDER BY code") + rows(
        url, "SELECT * FROM agencies ORDER BY code"
    )


# --- the OGP export --------------------------------------------------------------------------


def test_ogp_sample_imports_every_row_with_its_agency(cli: Cli, db_url: str) -> None:
    header, body = sample_rows()
    col = {name: i for i, name in enumerate(header)}
    result = cli("import-commitments", str(OGP_SAMPLE))
    assert result.code == 0, result.err
    assert f"read {len(body)} commitments" in result.out
    assert "(ogp format)" in result.out
    assert f"{len(body)} created, 0 updated, 0 unchanged" in result.out
    institutions = {
        (r[col["Country/Locality"]], same_institution(name))
        for r in body
        if r[col["Lead Institution"]] != "NA"
        for name in split_institutions(r[col["Lead Institution"]])
    }
    assert f"agencies: {len(institutions)} created" in result.out
    assert scalar(db_url, "SELECT count(*) FROM commitments") == len(body)
    assert scalar(db_url, "SELECT count(*) FROM agencies") == len(institutions)

    for r in body:
        stored = commitment(db_url, r[col["Commitment Unique Identifier"]])
        assert stored["titles"] == {"en": " ".join(r[col["Commitment Title"]].split())}
        assert stored["short_titles"] == {"en": " ".join(r[col["Short Title"]].split())}
        assert stored["country"] == r[col["Country/Locality"]]
        assert stored["action_plan"] == r[col["Action Plan Number"]]
        assert stored["theme"] in {*POLICY_AREAS, "Other"}
        assert stored["search_text"] == fold_text(stored["search_text"])
        assert fold_text(r[col["Short Title"]]) in stored["search_text"]
        lead = r[col["Lead Institution"]]
        if lead == "NA":
            assert stored["agency_id"] is None
        else:
            names = scalar(db_url, "SELECT names FROM agencies WHERE id = ?", stored["agency_id"])
            assert json.loads(names) == {"en": split_institutions(lead)[0]}


def test_ogp_dates_in_every_written_form(cli: Cli, db_url: str) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    expected = {
        "KAD0004": ("2018-09-01", "2020-08-31"),  # 9/1/2018 and 8/31/2020, month first
        "BG0027": ("2014-07-01", "2016-12-31"),  # 1/7/2014 in a plan that writes 31/12/2016
        "GR0025": ("2014-07-01", "2016-06-30"),  # July 2014 .. June 2016
        "RS0046": ("2021-01-01", "2022-09-30"),  # I quarter of 2021 .. III quarter of 2022
        "LK0032": ("2019-03-01", "2021-08-31"),  # spreadsheet serial numbers 43525, 44439
        "HR0044": (None, "2023-12-31"),  # "Underway"
        "AL0002": (None, None),  # NA
    }
    for code, (start, end) in expected.items():
        stored = commitment(db_url, code)
        assert (stored["start_date"], stored["end_date"]) == (start, end), code


def test_ogp_agency_codes_are_scoped_by_country(cli: Cli, db_url: str) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    codes = {c for (c,) in rows(db_url, "SELECT code FROM agencies")}
    assert "nigeria/ministry-of-justice" in codes
    # "Ministry of Justice/Nigeria Union of Journalist": a lead and a partner, two agencies.
    assert "kaduna-state-nigeria/ministry-of-justice" in codes
    assert "kaduna-state-nigeria/nigeria-union-of-journalist" in codes
    # The bullet glyphs of a pasted list are not part of the name or the code.
    assert all("\uf06c" not in c and len(c) <= 128 for c in codes)
    names = [json.loads(n)["en"] for (n,) in rows(db_url, "SELECT names FROM agencies")]
    assert all("\uf06c" not in n and "\n" not in n for n in names)


def test_reimport_changes_nothing(cli: Cli, db_url: str) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    before = snapshot(db_url)
    again = cli("import-commitments", str(OGP_SAMPLE))
    assert again.code == 0
    assert "0 created, 0 updated, 12 unchanged" in again.out
    assert "agencies: 0 created" in again.out
    assert snapshot(db_url) == before


def test_reimport_updates_a_changed_row(cli: Cli, db_url: str, tmp_path: Path) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    header, body = sample_rows()
    col = {name: i for i, name in enumerate(header)}
    changed = [list(r) for r in body]
    changed[0][col["Short Title"]] = "A new short title"
    path = write_csv(tmp_path / "changed.csv", header, changed)
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    assert "0 created, 1 updated, 11 unchanged" in result.out
    stored = commitment(db_url, changed[0][col["Commitment Unique Identifier"]])
    assert stored["short_titles"] == {"en": "A new short title"}
    assert "a new short title" in stored["search_text"]
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 12


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        (["--country", "nigeria"], {"NG0008", "NG0015", "NG0020"}),
        (["--country", "KADUNA STATE, NIGERIA"], {"KAD0004"}),
        (["--country", "Nigeria", "--action-plan", "2"], {"NG0015", "NG0020"}),
        (["--action-plan", "1"], {"AL0002", "KAD0004", "NG0008"}),
    ],
)
def test_filters_select_rows(cli: Cli, db_url: str, options: list[str], codes: set[str]) -> None:
    result = cli("import-commitments", str(OGP_SAMPLE), *options)
    assert result.code == 0, result.err
    assert f"{len(codes)} selected by the filters" in result.out
    assert {c for (c,) in rows(db_url, "SELECT code FROM commitments")} == codes


def test_filter_matching_nothing_fails_with_a_suggestion(cli: Cli, db_url: str) -> None:
    result = cli("import-commitments", str(OGP_SAMPLE), "--country", "Nigerai")
    assert_one_line_error(result, "--country", "Nigeria", code=1)
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 0
    result = cli(
        "import-commitments", str(OGP_SAMPLE), "--country", "Nigeria", "--action-plan", "9"
    )
    assert_one_line_error(result, "--action-plan", code=1)


def test_dry_run_writes_nothing(cli: Cli, db_url: str) -> None:
    result = cli("import-commitments", str(OGP_SAMPLE), "--dry-run")
    assert result.code == 0, result.err
    assert "12 created, 0 updated, 0 unchanged" in result.out
    assert "dry run: nothing was written" in result.out
    assert table_exists(db_url, "commitments")
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 0
    assert scalar(db_url, "SELECT count(*) FROM agencies") == 0


def test_dry_run_after_import_reports_the_pending_update(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE), "--country", "Albania").code == 0
    before = snapshot(db_url)
    result = cli("import-commitments", str(OGP_SAMPLE), "--dry-run")
    assert "11 created, 0 updated, 1 unchanged" in result.out
    assert snapshot(db_url) == before


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Start Date", "sometime soon", "Start Date: cannot read 'sometime soon'"),
        ("End Date", "2/30/2020", "End Date: cannot read '2/30/2020'"),
        ("Commitment Title", "NA", "Commitment Title is empty"),
        ("Commitment Unique Identifier", "", "Commitment Unique Identifier is empty"),
        ("Commitment Unique Identifier", "NG0008", "code NG0008 repeats row"),
        ("Start Date", "12/31/2025", "after end date"),
    ],
)
def test_a_bad_row_rejects_the_whole_file(
    cli: Cli, db_url: str, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    assert cli("import-commitments", str(OGP_SAMPLE), "--country", "Albania").code == 0
    before = snapshot(db_url)
    header, body = sample_rows()
    col = {name: i for i, name in enumerate(header)}
    broken = [list(r) for r in body]
    target = 9  # the tenth data row is spreadsheet row 11
    broken[target][col[column]] = value
    path = write_csv(tmp_path / "broken.csv", header, broken)
    result = cli("import-commitments", str(path), "--format", "ogp")
    assert_one_line_error(result, f"row {target + 2}: ", reason, "nothing was imported", code=1)
    assert snapshot(db_url) == before


def test_a_short_row_in_the_ogp_export_is_named(cli: Cli, db_url: str, tmp_path: Path) -> None:
    header, body = sample_rows()
    path = write_csv(tmp_path / "short.csv", header, [body[0], body[1][:20]])
    assert_one_line_error(cli("import-commitments", str(path)), "row 3: 20 cells", code=1)


def test_a_csv_without_ogp_columns_cannot_be_read_as_ogp(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("code,title_en\nA,B\n", encoding="utf-8")
    result = cli("import-commitments", str(path), "--format", "ogp")
    assert_one_line_error(result, "not an OGP commitments export", code=1)


def same_institution(name: str) -> str:
    """Names that differ only in case, accents or punctuation are one institution."""
    return re.sub(r"[^a-z0-9]", "", fold_text(clean_name(name)))


def lead_and_partners(url: str, code: str) -> list[str]:
    """The English names of a commitment's lead agency, then its partners in order."""
    lead = rows(
        url,
        "SELECT json_extract(a.names, '$.en') FROM commitments c "
        "JOIN agencies a ON a.id = c.agency_id WHERE c.code = ?",
        code,
    )
    partners = rows(
        url,
        "SELECT json_extract(a.names, '$.en') FROM commitment_partners p "
        "JOIN commitments c ON c.id = p.commitment_id JOIN agencies a ON a.id = p.agency_id "
        "WHERE c.code = ? ORDER BY p.position",
        code,
    )
    return [name for (name,) in lead + partners]


# What the real cells of tests/data/ogp/ogp_lead_institutions.csv name, lead first.
COMPOUND_LEADS = {
    "GH0047": ["Ministry of Health", "Ministry of Finance"],
    "GH0025": ["Parliament", "Ministry of Information"],
    "NL0005": [
        "Ministry of the Interior and Kingdom Relations",
        "Ministry of Security and Justice",
    ],
    "LT0033": ["The Ministry of Justice", "Office of the Government"],
    "LV0028": ["State Chancellery, Society Integration Foundation", "Ministry of Culture"],
    "PH0056": [
        "Department of the Interior and Local Government (DILG)",
        "Department of Budget and Management (DBM)",
    ],
    "FR0001": ["Ministry of the Interior", "Ministry for Decentralization and the Civil Service"],
    "SN0001": ["Ministry of Justice", "Direction for the Promotion of Good Governance"],
    "GT0066": ["Congreso de la República", "Comisión de Derechos Humanos"],
    "PNG0007": [
        "Department of Treasury",
        "Department of National Planning & Monitoring",
        "Department of Finance",
        "Department of Petroleum and Energy",
        "Department of Minerals Policy and Geo-hazards",
        "Mineral Resource Authority",
        "Minister for State Enterprise and Public Investment",
    ],
    # Names that only look like lists stay whole.
    "BG0090": ["Ministry of E-Government /MEG/ Bulgarian Center for Not-for-Profit Law"],
    "AU0030": ["Department of Finance, Electoral and Superannuation Policy/Governance"],
    "KR0065": ["Anti-Corruption and Civil Rights Commission"],
    "AU0018": ["Department of the Prime Minister and Cabinet"],
    "MO0008": ["Ministry of Administration Reform and Civil Service (MRAFP)"],
}


def test_compound_lead_institutions_become_a_lead_and_partners(cli: Cli, db_url: str) -> None:
    path = OGP_SAMPLE.with_name("ogp_lead_institutions.csv")
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    for code, names in COMPOUND_LEADS.items():
        assert lead_and_partners(db_url, code) == names, code
    paraguay = lead_and_partners(db_url, "PY0066")  # a dashed list, wrapped lines joined
    assert paraguay[:4] == [
        "Secretaría General",
        "Secretaría",
        "Dirección General de Gabinete",
        "Dirección General de Tecnología de la Información",
    ]
    # One agency per institution and country; the partners are agencies like any other.
    assert scalar(db_url, "SELECT count(*) FROM agencies WHERE code = 'ghana/ministry-of-finance'")
    listing = cli("agencies", "list", "--search", "ministry of finance")
    assert "ghana/ministry-of-finance  Ministry of Finance [en]" in listing.out
    partners = scalar(db_url, "SELECT count(*) FROM commitment_partners")
    assert partners == sum(len(n) - 1 for n in COMPOUND_LEADS.values()) + len(paraguay) - 1

    before = snapshot(db_url) + rows(db_url, "SELECT * FROM commitment_partners ORDER BY 1, 2")
    again = cli("import-commitments", str(path))
    assert "0 created, 0 updated, 17 unchanged" in again.out
    assert "agencies: 0 created" in again.out
    after = snapshot(db_url) + rows(db_url, "SELECT * FROM commitment_partners ORDER BY 1, 2")
    assert after == before


def test_a_changed_lead_institution_replaces_the_partners(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    path = OGP_SAMPLE.with_name("ogp_lead_institutions.csv")
    assert cli("import-commitments", str(path), "--country", "Ghana").code == 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header, body = next(reader), list(reader)
    col = {name: i for i, name in enumerate(header)}
    ghana = [list(r) for r in body if r[col["Country/Locality"]] == "Ghana"]
    for r in ghana:
        if r[col["Commitment Unique Identifier"]] == "GH0047":
            r[col["Lead Institution"]] = "Ministry of Health; Ghana Health Service"
        else:
            r[col["Lead Institution"]] = "Parliament"
    changed = cli("import-commitments", str(write_csv(tmp_path / "gh.csv", header, ghana)))
    assert changed.code == 0, changed.err
    assert "0 created, 2 updated, 0 unchanged" in changed.out
    assert "agencies: 1 created" in changed.out  # Ghana Health Service
    assert lead_and_partners(db_url, "GH0047") == ["Ministry of Health", "Ghana Health Service"]
    assert lead_and_partners(db_url, "GH0025") == ["Parliament"]


def test_a_real_ogp_export(cli: Cli, db_url: str) -> None:
    """The whole export when it is beside the checkout, else the sample: never skipped."""
    export = real_ogp_export()
    with export.open(newline="", encoding="utf-8-sig") as handle:
        records = list(csv.DictReader(handle))
    with_lead = [r for r in records if r["Lead Institution"].strip() != "NA"]
    named = {
        r["Commitment Unique Identifier"]: [
            same_institution(n) for n in split_institutions(r["Lead Institution"])
        ]
        for r in with_lead
    }
    institutions = {
        (r["Country/Locality"], name)
        for r in with_lead
        for name in named[r["Commitment Unique Identifier"]]
    }
    first = cli("import-commitments", str(export))
    assert first.code == 0, first.err
    assert f"commitments: {len(records)} created, 0 updated, 0 unchanged" in first.out
    assert f"agencies: {len(institutions)} created" in first.out
    assert scalar(db_url, "SELECT count(*) FROM commitments") == len(records)
    assert scalar(db_url, "SELECT count(*) FROM agencies") == len(institutions)
    if export == OGP_FULL_FILE:
        assert len(records) == 558
        assert scalar(db_url, "SELECT count(DISTINCT country) FROM commitments") == 75
    # Every commitment with a lead institution points at its agencies, lead first.
    by_code = {r["Commitment Unique Identifier"]: r for r in records}
    for code in named:
        stored = [same_institution(n) for n in lead_and_partners(db_url, code)]
        assert stored == list(dict.fromkeys(named[code])), code
        assert commitment(db_url, code)["country"] == by_code[code]["Country/Locality"]
    linked = scalar(db_url, "SELECT count(*) FROM commitments WHERE agency_id IS NOT NULL")
    assert linked == len(with_lead)
    before = snapshot(db_url)
    second = cli("import-commitments", str(export))
    assert f"0 created, 0 updated, {len(records)} unchanged" in second.out
    assert "agencies: 0 created" in second.out
    assert snapshot(db_url) == before
    nigeria = cli("import-commitments", str(export), "--country", "Nigeria", "--dry-run")
    count = sum(1 for r in records if r["Country/Locality"] == "Nigeria")
    assert count > 0
    assert f"{count} selected by the filters" in nigeria.out


# --- the project's own format ----------------------------------------------------------------

OWN_HEADER = [
    "code",
    "title_en",
    "title_ha",
    "short_title_en",
    "description_en",
    "description_fr",
    "action_plan",
    "theme",
    "country",
    "agency_code",
    "agency_name_en",
    "latitude",
    "longitude",
    "radius_m",
    "start_date",
    "end_date",
]
ROAD = [
    "KAD-RD-017",
    "Kawo–Rigasa road rehabilitation",
    "Gyaran titin Kawo zuwa Rigasa",
    "Kawo–Rigasa road",
    "Resurfacing 4.2 km",
    "Réfection de la chaussée",
    "2021-2023",
    "Roads",
    "Nigeria",
    "kd-mow",
    "Ministry of Works",
    "10.572",
    "7.44",
    "1500",
    "2021-01-15",
    "2023-06-30",
]


def own_csv(tmp_path: Path, *body: list[str], header: list[str] = OWN_HEADER) -> Path:
    return write_csv(tmp_path / "catalog.csv", header, list(body))


def test_own_csv_format(cli: Cli, db_url: str, tmp_path: Path) -> None:
    clinic = ["KAD-HC-004", "Primary health centre", *[""] * (len(OWN_HEADER) - 2)]
    result = cli("import-commitments", str(own_csv(tmp_path, ROAD, clinic)))
    assert result.code == 0, result.err
    assert "(csv format)" in result.out
    assert "2 created" in result.out and "agencies: 1 created" in result.out
    road = commitment(db_url, "KAD-RD-017")
    assert road["titles"] == {"en": ROAD[1], "ha": ROAD[2]}
    assert road["short_titles"] == {"en": ROAD[3]}
    assert road["descriptions"] == {"en": ROAD[4], "fr": ROAD[5]}
    assert (road["action_plan"], road["theme"], road["country"]) == (
        "2021-2023",
        "Roads",
        "Nigeria",
    )
    assert (road["latitude"], road["longitude"], road["radius_m"]) == (10.572, 7.44, 1500.0)
    assert (road["start_date"], road["end_date"]) == ("2021-01-15", "2023-06-30")
    # Folded: case and accents gone, every language searchable.
    assert "refection de la chaussee" in road["search_text"]
    assert "gyaran titin" in road["search_text"] and "kad-rd-017" in road["search_text"]
    agency = rows(db_url, "SELECT id, code, names FROM agencies")
    assert [(a[1], json.loads(a[2])) for a in agency] == [("kd-mow", {"en": "Ministry of Works"})]
    assert road["agency_id"] == agency[0][0]
    clinic_row = commitment(db_url, "KAD-HC-004")
    assert clinic_row["agency_id"] is None and clinic_row["latitude"] is None


def test_a_translation_file_adds_a_language_and_keeps_the_rest(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    assert cli("import-commitments", str(own_csv(tmp_path, ROAD))).code == 0
    translation = tmp_path / "ha.csv"
    write_csv(
        translation, ["code", "title_ha", "short_title_ha"], [["kad-rd-017", "Sabon", "Titi"]]
    )
    result = cli("import-commitments", str(translation))
    assert result.code == 0, result.err
    assert "0 created, 1 updated, 0 unchanged" in result.out
    road = commitment(db_url, "KAD-RD-017")
    assert road["titles"] == {"en": ROAD[1], "ha": "Sabon"}
    assert road["short_titles"] == {"en": ROAD[3], "ha": "Titi"}
    assert (road["latitude"], road["theme"]) == (10.572, "Roads")
    assert "sabon" in road["search_text"]
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 1


def test_a_date_that_contradicts_the_stored_one_is_refused(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    assert cli("import-commitments", str(own_csv(tmp_path, ROAD))).code == 0
    before = commitment(db_url, "KAD-RD-017")
    later = write_csv(tmp_path / "later.csv", ["code", "title_en", "start_date"], [
        ["KAD-RD-017", ROAD[1], "2024-01-01"]
    ])  # fmt: skip
    result = cli("import-commitments", str(later))
    assert_one_line_error(result, "row 2: start date 2024-01-01 would be after end date", code=1)
    assert commitment(db_url, "KAD-RD-017") == before


def test_an_existing_agency_is_not_renamed_by_an_import(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    assert cli("agencies", "add", "kd-mow", "--name", "en=Works Ministry").code == 0
    result = cli("import-commitments", str(own_csv(tmp_path, ROAD)))
    assert "agencies: 0 created" in result.out
    names = scalar(db_url, "SELECT names FROM agencies WHERE code = 'kd-mow'")
    assert json.loads(names) == {"en": "Works Ministry"}


def test_own_json_format(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            {
                "commitments": [
                    {
                        "code": "KAD-SC-002",
                        "titles": {"en": "Girls' secondary school", "ha": "Makarantar ’yan mata"},
                        "short_titles": {"en": "School"},
                        "descriptions": {"en": "Six classrooms"},
                        "theme": "Education",
                        "action_plan": 3,
                        "agency": {"code": "kd-edu", "names": {"en": "Education", "ha": "Ilimi"}},
                        "latitude": 10.51,
                        "longitude": 7.42,
                        "radius_m": 300,
                        "start_date": "2022-02-01",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    assert "(json format)" in result.out and "1 created" in result.out
    school = commitment(db_url, "KAD-SC-002")
    assert school["titles"] == {"en": "Girls' secondary school", "ha": "Makarantar ’yan mata"}
    assert (school["action_plan"], school["radius_m"], school["start_date"]) == (
        "3",
        300.0,
        "2022-02-01",
    )
    names = scalar(db_url, "SELECT names FROM agencies WHERE code = 'kd-edu'")
    assert json.loads(names) == {"en": "Education", "ha": "Ilimi"}


def test_own_yaml_format(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        """
- code: KAD-WT-009
  titles: {en: Borehole at Tudun Wada, ha: Rijiyar burtsatse a Tudun Wada}
  agency: kd-water
  agency_name_en: Water Board
- code: KAD-WT-010
  title_en: Water tank
  start_date: 2023-01-01
  end_date: 2023-12-31
  country: "NO"
""",
        encoding="utf-8",
    )
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    assert "(yaml format)" in result.out and "2 created" in result.out
    assert commitment(db_url, "KAD-WT-009")["titles"]["ha"] == "Rijiyar burtsatse a Tudun Wada"
    tank = commitment(db_url, "KAD-WT-010")
    assert (tank["start_date"], tank["end_date"], tank["country"]) == (
        "2023-01-01",
        "2023-12-31",
        "NO",
    )
    assert scalar(db_url, "SELECT count(*) FROM agencies WHERE code = 'kd-water'") == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"latitude": "95"}, "latitude must lie between -90 and 90"),
        ({"longitude": "-181"}, "longitude must lie between -180 and 180"),
        ({"longitude": ""}, "latitude and longitude must be given together"),
        ({"latitude": "north"}, "latitude: expected a number"),
        ({"latitude": "nan"}, "latitude: expected a number"),
        ({"latitude": "", "longitude": ""}, "radius_m needs latitude and longitude"),
        ({"radius_m": "0"}, "radius_m must be more than 0"),
        ({"radius_m": "60000"}, "at most 50000 metres"),
        ({"title_en": "", "title_ha": ""}, "has no title"),
        ({"code": ""}, "code is missing"),
        ({"code": "X" * 70}, "too long for a QR deep link"),
        ({"start_date": "15/01/2021"}, "start_date: expected a date as YYYY-MM-DD"),
        ({"end_date": "2023-02-30"}, "end_date: expected a date as YYYY-MM-DD"),
        ({"start_date": "2024-01-01"}, "start date 2024-01-01 is after end date 2023-06-30"),
        ({"agency_code": "bad code!"}, "agency code 'bad code!'"),
        ({"agency_code": ""}, "agency names are given without agency_code"),
    ],
)
def test_own_format_checks_every_row(
    cli: Cli, db_url: str, tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    bad = list(ROAD)
    for column, value in changes.items():
        bad[OWN_HEADER.index(column)] = value
    good = ["KAD-OK-001", "Fine", *[""] * (len(OWN_HEADER) - 2)]
    result = cli("import-commitments", str(own_csv(tmp_path, good, bad)))
    assert_one_line_error(result, "row 3: ", reason, code=1)
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 0
    assert scalar(db_url, "SELECT count(*) FROM agencies") == 0


def test_duplicate_codes_in_one_file_ignore_case(cli: Cli, db_url: str, tmp_path: Path) -> None:
    twin = list(ROAD)
    twin[0] = ROAD[0].lower()
    result = cli("import-commitments", str(own_csv(tmp_path, ROAD, twin)))
    assert_one_line_error(result, "row 3: code kad-rd-017 repeats row 2", code=1)
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 0


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (["code", "title_en", "titel_ha"], "unknown column 'titel_ha'"),
        (["code", "title_english"], "'english' is not a language code"),
        (["title_en", "theme"], "no 'code' column"),
        (["code", "theme"], "no title column"),
        (["code", "title_en", "code"], "column 'code' appears twice"),
    ],
)
def test_own_csv_header_is_checked(
    cli: Cli, tmp_path: Path, header: list[str], reason: str
) -> None:
    path = write_csv(tmp_path / "h.csv", header, [["A"] * len(header)])
    assert_one_line_error(cli("import-commitments", str(path)), reason, code=1)


def test_extra_cells_in_a_row_are_rejected(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["code", "title_en"], [["A", "B"], ["C", "D", "E"]])
    assert_one_line_error(cli("import-commitments", str(path)), "row 3: 3 cells", code=1)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.json", '[{"code": "A", "titles": {"en": "x"}}', "not valid JSON"),
        ("bad.json", '{"code": "A"}', "expected a list of commitments"),
        ("bad.json", '["A"]', "row 1: expected an object"),
        ("bad.json", '[{"code": "A", "titles": "x"}]', "row 1: titles: expected a mapping"),
        ("bad.json", '[{"code": "A", "title_en": "x", "colour": 1}]', "row 1: unknown column"),
        ("bad.json", '[{"code": "A", "title_en": "x", "agency": {"id": 1}}]', "agency: unknown"),
        ("bad.yaml", "- code: A\n  title_en: [x\n", "not valid YAML"),
        ("bad.yaml", "- code: A\n  title_en: x\n  country: NO\n", "country: expected text"),
        ("bad.json", "[]", "holds no commitments"),
        ("bad.txt", "code,title_en\nA,x\n", "cannot tell the format"),
    ],
)
def test_unreadable_files_fail_clearly(
    cli: Cli, db_url: str, tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(cli("import-commitments", str(path)), reason)
    assert scalar(db_url, "SELECT count(*) FROM commitments") == 0


def test_the_format_option_overrides_the_extension(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.txt"
    path.write_text("code,title_en\nA-1,Road\n", encoding="utf-8")
    result = cli("import-commitments", str(path), "--format", "csv")
    assert result.code == 0, result.err
    assert commitment(db_url, "A-1")["titles"] == {"en": "Road"}


def test_missing_and_non_utf8_files(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(
        cli("import-commitments", str(tmp_path / "nope.csv")), "no such file", code=1
    )
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("code,title_en\nA,Réfection\n".encode("latin-1"))
    assert_one_line_error(cli("import-commitments", str(latin)), "not UTF-8", code=1)
    assert_one_line_error(cli("import-commitments", str(tmp_path)), "is a directory", code=1)


def test_dates_are_stored_as_dates(cli: Cli, db_url: str, tmp_path: Path) -> None:
    assert cli("import-commitments", str(own_csv(tmp_path, ROAD))).code == 0
    start = commitment(db_url, "KAD-RD-017")["start_date"]
    assert date.fromisoformat(start) == date(2021, 1, 15)


def test_an_unknown_agency_without_a_name_is_refused_naming_the_row(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    header = ["code", "title_en", "agency_code", "agency_name_en"]
    path = write_csv(tmp_path / "catalog.csv", header, [
        ["KAD-RD-017", "Kawo road", "kd-mow", "Ministry of Works"],
        ["KAD-RD-018", "Rigasa road", "kd-mow", ""],  # named in row 2: fine
        ["KAD-HC-004", "Clinic", "kd-health", ""],
        ["KAD-HC-005", "Clinic 2", "kd-health", ""],
    ])  # fmt: skip
    for extra in ([], ["--dry-run"]):
        result = cli("import-commitments", str(path), *extra)
        assert_one_line_error(
            result,
            f"{path}: row 4: agency kd-health does not exist and the file gives no name for it",
            "agencies add kd-health --name en=NAME",
            "(1 more row names an unknown agency without a name)",
            "nothing was imported",
            code=1,
        )
        assert result.out == ""
        assert scalar(db_url, "SELECT count(*) FROM commitments") == 0
        assert scalar(db_url, "SELECT count(*) FROM agencies") == 0

    # Once the agency exists, rows may name it by code alone.
    assert cli("agencies", "add", "kd-health", "--name", "en=Ministry of Health").code == 0
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    assert "agencies: 1 created" in result.out
    named = rows(db_url, "SELECT code, json_extract(names, '$.en') FROM agencies ORDER BY code")
    assert named == [("kd-health", "Ministry of Health"), ("kd-mow", "Ministry of Works")]
    assert scalar(db_url, "SELECT count(*) FROM commitments WHERE agency_id IS NULL") == 0


def test_a_bad_row_names_the_file(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dates.csv", ["code", "title_en", "start_date"], [
        ["A-1", "A", "yesterday"]
    ])  # fmt: skip
    result = cli("import-commitments", str(path))
    assert_one_line_error(result, f"error: {path}: row 2: ", code=1)


def test_counts_in_the_summary_are_singular_for_one(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", ["code", "title_en"], [["A-1", "A road"]])
    result = cli("import-commitments", str(path))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"read 1 commitment from {path} (csv format)"
    two = write_csv(tmp_path / "two.csv", ["code", "title_en"], [["A-1", "A"], ["B-1", "B"]])
    assert cli("import-commitments", str(two)).out.startswith("read 2 commitments from")
    header, _ = sample_rows()
    short = write_csv(tmp_path / "short.csv", header, [["KAD0004"]])
    assert_one_line_error(
        cli("import-commitments", str(short)),
        f"row 2: 1 cell but the header names {len(header)}",
        code=1,
    )


def test_the_ogp_export_brings_the_irm_assessment(cli: Cli, db_url: str) -> None:
    """The IRM's columns of the export, kept per commitment for its public scorecard."""
    assert cli("import-commitments", str(OGP_SAMPLE)).code == 0
    [[stored]] = rows(db_url, "SELECT irm FROM commitments WHERE code = ?", "NG0020")
    assert json.loads(stored) == {
        "verifiable": "Yes",
        "relevant": "yes",
        "potential_impact": "Transformative",
        "completion_end_of_term": "Substantial",
        "did_it_open_government": "Major",
        "latest_irm_report": "2020",
        "url": "https://opengovpartnership.org/members/nigeria/commitments/ng0020",
    }
    # "ND" (no data) and "NR" (not reviewed) are no assessment: nothing is kept for them.
    [[albania]] = rows(db_url, "SELECT irm FROM commitments WHERE code = ?", "AL0002")
    assert json.loads(albania)["specificity"] == "Medium"
    assert "completion_end_of_term" not in json.loads(albania)
