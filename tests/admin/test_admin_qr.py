"""qr: codes that scan to the commitment's deep link, with its code and title under them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from admin_support import CliResult, assert_one_line_error, write_catalog
from PIL import Image

from bot.admin.labels import ELLIPSIS, FontChoice, ascii_fallback, find_font, wrap
from bot.admin.qr import file_stem
from bot.catalog.deeplinks import commitment_link
from bot.i18n.translate import gettext, translations_for, use_locale

Cli = Callable[..., CliResult]
SCAN = "Scan to report on this commitment"
SVG = "{http://www.w3.org/2000/svg}"
CATALOG = [
    {
        "code": "KAD-RD-017",
        "titles": {"en": "Kawo–Rigasa road"},
        "short_titles": {"ha": "Titin Kawo"},
    },
    {"code": "KAD-HC-004", "titles": {"en": "Health centre <Ungwan Rimi> & co"}},
    {"code": "KAD-SC-002", "titles": {"en": "School"}, "short_titles": {"en": "Girls' school"}},
    {"code": "KAD WT 9/é", "titles": {"en": "Borehole"}},
    {"code": "UA-1", "titles": {"en": "Ukraine", "uk": "Відкриті дані для громад"}},
    {"code": "AR-1", "titles": {"en": "Arabic", "ar": "البيانات المفتوحة"}},
    {"code": "LONG-1", "titles": {"en": " ".join(["Rehabilitation"] * 40)}},
]


@pytest.fixture
def catalog(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    write_catalog(path, CATALOG)
    assert cli("import-commitments", str(path)).code == 0


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_png_scans_to_the_deep_link(cli: Cli, catalog: None, tmp_path: Path) -> None:
    out = tmp_path / "qr"
    result = cli("qr", "KAD-RD-017", "kad-hc-004", "KAD WT 9/é", "--out", str(out))
    assert result.code == 0, result.err
    assert "wrote 3 QR codes" in result.out
    for code in ("KAD-RD-017", "KAD-HC-004", "KAD WT 9/é"):
        png = out / f"{file_stem(code)}.png"
        assert decode(Image.open(png)) == [commitment_link("cw_test_bot", code)]
        assert (out / f"{file_stem(code)}.svg").is_file()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{file_stem(c)}.{ext}"
        for c in ("KAD-RD-017", "KAD-HC-004", "KAD WT 9/é")
        for ext in ("png", "svg")
    )


def test_png_has_text_under_the_code(cli: Cli, catalog: None, tmp_path: Path) -> None:
    assert cli("qr", "KAD-SC-002", "--out", str(tmp_path)).code == 0
    image = Image.open(tmp_path / "KAD-SC-002.png").convert("L")
    results = zxingcpp.read_barcodes(image)
    bottom = max(r.position.bottom_left.y for r in results)
    below = image.crop((0, bottom + 20, image.width, image.height))
    assert below.height > 40
    # Dark pixels below the QR code: the printed code and title.
    assert sum(1 for p in below.tobytes() if p < 128) > 200


def test_svg_names_the_code_and_escapes_the_title(cli: Cli, catalog: None, tmp_path: Path) -> None:
    assert (
        cli(
            "qr", "KAD-HC-004", "KAD-RD-017", "UA-1", "--out", str(tmp_path), "--language", "uk"
        ).code
        == 0
    )
    with use_locale("uk"):
        caption = gettext("Scan to report on this commitment")

    def label(name: str) -> tuple[str | None, str]:
        """The code, and the rest of the label's lines (wrapped title, then the caption)."""
        texts = [t.text or "" for t in ET.parse(tmp_path / name).getroot().iter(f"{SVG}text")]
        return texts[0], " ".join(texts[1:])

    tree = ET.parse(tmp_path / "KAD-HC-004.svg")
    assert tree.getroot().find(f"{SVG}svg") is not None  # the QR code itself
    assert label("KAD-HC-004.svg") == ("KAD-HC-004", f"Health centre <Ungwan Rimi> & co {caption}")
    assert label("UA-1.svg")[1] == f"Відкриті дані для громад {caption}"
    # No Ukrainian title: the default language (English), short title first.
    assert label("KAD-RD-017.svg")[1] == f"Kawo–Rigasa road {caption}"


def test_sheet_is_a_printable_pdf_of_scannable_codes(
    cli: Cli, catalog: None, tmp_path: Path
) -> None:
    result = cli("qr", "--all", "--sheet", "--out", str(tmp_path))
    assert result.code == 0, result.err
    assert f"wrote {len(CATALOG)} QR codes" in result.out
    assert "(2 pages, 7 codes)" in result.out
    pdf = pdfium.PdfDocument(str(tmp_path / "qr-sheet.pdf"))
    assert len(pdf) == 2
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    first = pdf[0].render(scale=2).to_pil().convert("L")
    codes = sorted(c["code"] for c in CATALOG)
    found = decode(first)
    assert len(found) == 6
    assert {commitment_link("cw_test_bot", c) for c in codes} > set(found)
    second = decode(pdf[1].render(scale=2).to_pil().convert("L"))
    assert len(second) == 1 and second[0] not in found


def svg_texts(path: Path) -> list[str]:
    return [str(t.text) for t in ET.parse(path).getroot().iter(f"{SVG}text")]


def caption(language: str) -> str:
    """The line for passers-by as that language's catalog has it (English until translated)."""
    return str(translations_for(language).gettext(SCAN))


@pytest.mark.parametrize("language", [None, "en", "ha", "fr", "uk", "ar"])
def test_every_label_tells_passers_by_to_scan(
    cli: Cli, catalog: None, tmp_path: Path, language: str | None
) -> None:
    options = ["--language", language] if language else []
    result = cli("qr", "KAD-RD-017", "UA-1", "--out", str(tmp_path), "--sheet", *options)
    assert result.code == 0, result.err
    expected = caption(language or "en")
    for code in ("KAD-RD-017", "UA-1"):
        texts = svg_texts(tmp_path / f"{code}.svg")
        # The last line(s), under the code and the title: a long caption wraps.
        assert " ".join(texts[1:]).endswith(expected), texts
        assert texts[0] == code
    # The PNG (and so the sheet, made of it) has a line of print below the title.
    plain = Image.open(tmp_path / "KAD-RD-017.png").convert("L")
    band = plain.crop((0, plain.height - 24 - int(20 * 1.25), plain.width, plain.height - 24))
    assert sum(1 for p in band.tobytes() if p < 128) > 50


def test_the_caption_follows_default_locale(
    cli: Cli, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", "ha")
    assert cli("qr", "KAD-RD-017", "--out", str(tmp_path)).code == 0
    assert " ".join(svg_texts(tmp_path / "KAD-RD-017.svg")[1:]).endswith(caption("ha"))


def test_one_code_is_counted_in_the_singular(cli: Cli, catalog: None, tmp_path: Path) -> None:
    out = tmp_path / "one"
    result = cli("qr", "KAD-RD-017", "--out", str(out), "--sheet")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"wrote 1 QR code to {out} (PNG and SVG)",
        f"wrote {out / 'qr-sheet.pdf'} (1 page, 1 code)",
    ]


def test_unknown_codes_write_nothing(cli: Cli, catalog: None, tmp_path: Path) -> None:
    out = tmp_path / "qr"
    result = cli("qr", "KAD-RD-017", "NOPE", "ALSO-NOPE", "--out", str(out))
    assert_one_line_error(result, "unknown commitment code(s): NOPE, ALSO-NOPE", code=1)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        ([], "give one or more commitment codes, or --all", 2),
        (["KAD-RD-017", "--all"], "not both", 2),
        (["KAD-RD-017", "--language", "xx"], "--language: expected one of", 2),
        (["KAD-RD-017", "--font", "/nonexistent/font.ttf"], "--font: cannot load", 2),
    ],
)
def test_usage_errors(
    cli: Cli, catalog: None, tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    assert_one_line_error(cli("qr", *args, "--out", str(tmp_path / "q")), message, code=code)
    assert not (tmp_path / "q").exists()


def test_empty_catalog(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("qr", "--all", "--out", str(tmp_path)), "catalog is empty", code=1)


def test_needs_bot_username(
    cli: Cli, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOT_USERNAME")
    assert_one_line_error(cli("qr", "--all", "--out", str(tmp_path / "q")), "BOT_USERNAME", code=1)


def test_output_folder_that_is_a_file(cli: Cli, catalog: None, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert_one_line_error(cli("qr", "UA-1", "--out", str(blocker)), str(blocker), code=1)


def test_wrap_keeps_lines_inside_the_width_and_marks_cuts() -> None:
    font = find_font().font(24)
    lines = wrap(" ".join(["Rehabilitation"] * 40), font, 300, 3)
    assert len(lines) == 3 and lines[-1].endswith(ELLIPSIS)
    assert all(font.getlength(line) <= 300 for line in lines)
    one_word = wrap("x" * 200, font, 300, 3)
    assert all(font.getlength(line) <= 300 for line in one_word)
    assert wrap("Short title", font, 300, 3) == ["Short title"]


def test_without_a_unicode_font_titles_are_simplified_not_garbled() -> None:
    assert ascii_fallback("Réfection à Kaduna") == "Refection a Kaduna"
    assert ascii_fallback("Відкриті") == "?" * len("Відкриті")
    builtin = FontChoice(None)
    assert not builtin.unicode and builtin.font(20).getlength("abc") > 0


def test_file_stem_is_safe_and_distinct() -> None:
    assert file_stem("KAD-RD-017") == "KAD-RD-017"
    weird = {file_stem(c) for c in ("a/b", "a_b", "a?b", "../x")}
    assert len(weird) == 4
    assert all("/" not in s and not s.startswith(".") for s in weird)


def test_catalog_fixture_matches_its_source() -> None:
    # Guards the fixture: every code above is importable as JSON.
    assert json.loads(json.dumps(CATALOG))[3]["code"] == "KAD WT 9/é"
