"""The public pages over real HTTP from the bot's own web server: what a reader without
JavaScript sees, in their language, with nothing that identifies a citizen and nothing that is
not public, figures computed right on a known set of reports, and polite errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.admin.importer import import_file
from bot.channels.web.pages.common import PAGE_CSP
from bot.reports import responsiveness
from bot.reports.public import coarse
from storage.models import Commitment
from tests.support.harness import Harness
from tests.support.public_side import World
from tests.support.web_pages import (
    HOSTILE,
    T0,
    Browser,
    D,
    H,
    Page,
    Planned,
    add_commitments,
    add_reports,
    hostile_catalog,
)

ROAD = "KAD-RD-017"
OGP_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "ogp" / "ogp_sample.csv"
P = T0 + H  # when the moderator published each report of the known set


def known_set() -> list[Planned]:
    """Answers after 2, 4, 6, 8, 10, 12 and 48 hours (median 8 h, over 7); resolutions after
    12 h, 1, 2, 3 and 5 days (median 2 days, over 5); 7 of 8 published reports answered; of the 6
    the agency closed, 1 reopened. The duplicate, the pending, rejected and withdrawn reports do
    not count, and the last three are never shown."""

    def published(*rest: tuple[str, object, str, str | None]) -> tuple:
        return (("published", P, "moderator", None), *rest)

    return [
        Planned(
            "CW-KNZZZY",
            "resolved",
            published(
                ("acknowledged", P + 2 * H, "official", "We have seen it."),
                ("resolved", P + D, "official", None),
            ),
        ),
        Planned(
            "CW-KNZZZ2",
            "reopened",
            published(
                ("in_progress", P + 4 * H, "agency", None),
                ("resolved", P + 3 * D, "agency", None),
                ("reopened", P + 4 * D, "citizen", None),
            ),
            supporters=2,
        ),
        Planned(
            "CW-KNZZZ3",
            "resolved",
            published(
                ("acknowledged", P + 6 * H, "official", None),
                ("resolved", P + 5 * D, "official", "Patched and sealed."),
            ),
        ),
        Planned(
            "CW-KNZZZ4", "acknowledged", published(("acknowledged", P + 8 * H, "official", None))
        ),
        Planned("CW-KNZZZ5", "no_action", published(("no_action", P + 10 * H, "official", None))),
        Planned("CW-KNZZZ6", "resolved", published(("resolved", P + 12 * H, "official", None))),
        Planned("CW-KNZZZ7", "published", published()),
        Planned("CW-KNZZZ8", "resolved", published(("resolved", P + 2 * D, "agency", None))),
        Planned("CW-KNZZZ9", "duplicate", published(("duplicate", P + 3 * H, "moderator", None))),
        Planned("CW-KNZZYZ", "pending_review", (), text="Still waiting for review"),
        Planned(
            "CW-KNZZYY",
            "rejected",
            (("rejected", P, "moderator", "abusive"),),
            text="A rejected insult",
        ),
        Planned(
            "CW-KNZZY2",
            "withdrawn",
            published(("withdrawn", P + H, "citizen", None)),
            text="Withdrawn words",
        ),
    ]


NEVER_SHOWN = ("CW-KNZZYZ", "CW-KNZZYY", "CW-KNZZY2")


@pytest.mark.both_databases
async def test_figures_on_a_known_set_of_reports(browser: Browser, harness: Harness) -> None:
    await add_reports(harness.db, ROAD, known_set())
    async with harness.db.read() as session:
        road = await session.scalar(select(Commitment).where(Commitment.code == ROAD))
    assert road is not None
    figures = await responsiveness.of_commitment(harness.db, road.id, 5)
    assert figures.to_answer == responsiveness.Duration(8 * 3600.0, 7, True)
    assert figures.to_resolve == responsiveness.Duration(2 * 86400.0, 5, True)
    assert figures.answered == responsiveness.Share(7, 8, True)
    assert figures.reopened == responsiveness.Share(1, 6, True)
    # Above the minimum nothing is shown.
    few = await responsiveness.of_commitment(harness.db, road.id, 6)
    assert few.to_resolve == responsiveness.Duration(None, 5, False)
    assert few.to_answer.enough and few.answered.enough and few.reopened.enough

    page = (await browser.get(f"/commitments/{ROAD}")).page
    text = page.text
    assert "Median time to first answer 8 hours (over 7 reports)" in text
    assert "Median time to resolution 2 days (over 5 reports)" in text
    assert "Reports answered 88 % (7 of 8)" in text
    assert "Closed but not fixed (reopened by citizens) 17 % (1 of 6)" in text
    # Reports by month: the nine public ones came in March 2026 (the duplicate is public).
    assert "2026-03 9 3 4 2" in text
    assert "9 public reports" in text
    assert "We have seen it." in text and "Patched and sealed." in text
    for hidden in NEVER_SHOWN:
        assert hidden not in page.html
    for words in ("Still waiting for review", "A rejected insult", "Withdrawn words", "abusive"):
        assert words not in page.html

    agencies = (await browser.get("/agencies")).page.text
    assert (
        "Kaduna State Ministry of Works 8 hours (over 7 reports) 2 days (over 5 reports) "
        "88 % (7 of 8) 17 % (1 of 6)"
    ) in agencies
    assert "What these figures can and cannot say" in agencies
    assert "report less" in agencies and "channels" in agencies

    home = (await browser.get("/", q=ROAD)).page.text
    assert (
        "KAD-RD-017 Kawo–Rigasa road rehabilitation Roads Kaduna State Ministry of Works 3 4"
        in home
    )


async def test_below_the_minimum_sample_the_pages_say_too_few(
    browser: Browser, harness: Harness
) -> None:
    await add_reports(harness.db, ROAD, known_set()[:3])
    for path in (f"/commitments/{ROAD}", "/agencies"):
        text = (await browser.get(path)).page.text
        assert "hours" not in text and "days" not in text and "%" not in text
        # Three answered, three resolved, three published, three closed.
        assert text.count("Too few reports to tell (3; at least 5 needed)") == 4, path
    # The minimum is a setting.
    harness.services.settings = replace(harness.services.settings, public_min_sample=3)
    text = (await browser.get(f"/commitments/{ROAD}")).page.text
    assert "Median time to first answer 4 hours (over 3 reports)" in text  # 2, 4 and 6 hours
    assert "Median time to resolution 3 days (over 3 reports)" in text  # 1, 3 and 5 days


@pytest.mark.both_databases
async def test_home_search_filters_and_pages(browser: Browser, harness: Harness) -> None:
    await add_commitments(harness.db, 25)

    async def codes(**params: str) -> list[str]:
        answer = await browser.get("/", **params)
        assert answer.status == 200, answer.body
        rows = answer.page.find("a")
        return [
            (a["href"] or "").split("/commitments/")[1].split("?")[0]
            for a in rows
            if "/commitments/" in (a["href"] or "")
        ]

    first = await codes()
    assert len(first) == 20 and first[0] == "KAD-HC-004"
    page = (await browser.get("/")).page
    assert "31 commitments" in page.text and "Page 1 of 2" in page.text
    [following] = page.find("a", rel="next")
    assert following["href"] == "/?page=2"
    second = await codes(page="2")
    assert len(second) == 11 and not set(first) & set(second)
    assert second[-1] == "PG-024"
    # The bot's folding: case and accents do not matter; every word must match.
    assert await codes(q="RIGÁSA") == [ROAD]
    assert await codes(q="kawo road") == [ROAD]
    assert await codes(q="kawo clinic") == []
    assert len(await codes(q="streetlight")) == 20
    assert (await browser.get("/", q="streetlight")).page.text.count("25 commitments") == 1
    assert await codes(theme="Health") == ["KAD-HC-004"]
    assert await codes(theme="Fiscal transparency", q="budget") == ["NG-FT-001"]
    assert len(await codes(agency="kaduna-works", theme="Lighting", page="2")) == 5
    # The form keeps what was chosen.
    form = (await browser.get("/", q="road", theme="Roads")).page
    assert form.find("input", name="q")[0]["value"] == "road"
    assert "selected" in form.find("option", value="Roads")[0]
    nothing = (await browser.get("/", q="zzzz")).page.text
    assert "No commitment matches" in nothing


@pytest.mark.parametrize(
    "params",
    [
        {"page": "-1"},
        {"page": "0"},
        {"page": "two"},
        {"page": "9"},  # beyond the last page
        {"theme": "Nonsense"},
        {"agency": "no-such-agency"},
        {"colour": "blue"},
        {"q": "x" * 201},
    ],
)
async def test_bad_parameters_get_a_polite_400(browser: Browser, params: dict[str, str]) -> None:
    answer = await browser.get("/", **params)
    assert answer.status == 400
    page = answer.page
    assert "We could not read that address" in page.text
    assert page.find("a", href="/")
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP


async def test_errors_are_polite_pages_in_the_readers_language(
    browser: Browser, harness: Harness
) -> None:
    for path in ("/nowhere", "/commitments/NO-SUCH", "/reports/CW-ZZZZZZ", "/reports/nonsense"):
        answer = await browser.get(path)
        assert answer.status == 404, path
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "Page not found" in answer.page.text
    assert (await browser.get(f"/commitments/{ROAD}", page="0")).status == 400
    # Arabic from the browser's languages: the error page is right to left.
    arabic = await browser.get("/nowhere", headers={"Accept-Language": "ar"})
    assert arabic.status == 404 and arabic.page.root()["dir"] == "rtl"
    for path in ("/", f"/commitments/{ROAD}", "/agencies"):
        refused = await browser.get(path, method="POST")
        assert refused.status == 405, path
        assert refused.headers["Allow"] == "GET, HEAD"
        assert "these pages can only be read" in refused.page.text
    head = await browser.get("/", method="HEAD")
    assert head.status == 200 and head.body == ""
    # The data endpoints keep their own answers.
    open311 = await browser.get("/open311/v2/nothing.json")
    assert open311.status == 404 and open311.headers["Content-Type"].startswith("application/json")
    assert (
        open311.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


async def test_languages_from_the_address_then_the_browser(
    browser: Browser, harness: Harness
) -> None:
    default = (await browser.get("/")).page
    assert default.root() == {"lang": "en", "dir": "ltr"}
    french = await browser.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert french.page.root()["lang"] == "fr"
    assert french.headers["Content-Language"] == "fr"
    assert "Centre de santé primaire, Ungwan Rimi" in french.page.text
    # ?lang= wins over the browser's languages, and the page's own links keep it.
    hausa = (await browser.get("/", lang="ha", headers={"Accept-Language": "fr"})).page
    assert hausa.root()["lang"] == "ha"
    assert "Gyaran titin Kawo zuwa Rigasa" in hausa.text
    assert f"/commitments/{ROAD}?lang=ha" in hausa.links()
    assert "/agencies?lang=ha" in hausa.links()
    arabic = (await browser.get(f"/commitments/{ROAD}", lang="ar")).page
    assert arabic.root() == {"lang": "ar", "dir": "rtl"}
    # The switcher: a plain link per language, each named in itself, the current one marked.
    switcher = [a for a in arabic.find("a") if a.get("hreflang")]
    assert [a["hreflang"] for a in switcher] == [
        "en", "fr", "es", "pt", "ar", "ha", "yo", "sw", "uk",
    ]  # fmt: skip
    assert switcher[0]["href"] == f"/commitments/{ROAD}?lang=en"
    assert [a["hreflang"] for a in switcher if "aria-current" in a] == ["ar"]
    assert "العربية" in arabic.text and "Українська" in arabic.text
    unknown = (await browser.get("/", lang="zz")).page
    assert unknown.root()["lang"] == "en"


async def test_hostile_text_is_escaped_on_every_page(browser: Browser, harness: Harness) -> None:
    await hostile_catalog(harness.db, ROAD)
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned(
                "CW-HSZZZY",
                "acknowledged",
                (
                    ("published", P, "moderator", None),
                    ("acknowledged", P + H, "official", f"Note {HOSTILE}"),
                ),
                text=f"Text {HOSTILE}",
            )
        ],
    )
    paths = ["/", f"/commitments/{ROAD}", "/reports/CW-HSZZZY", "/agencies", "/?q=<script>"]
    for path in paths:
        answer = await browser.get(path)
        assert answer.status == 200, path
        assert "<script" not in answer.body, path
        assert not answer.page.inline, (path, answer.page.inline)
    report = (await browser.get("/reports/CW-HSZZZY")).body
    assert "Text &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in report
    assert "Note &lt;script&gt;" in (await browser.get(f"/commitments/{ROAD}")).body


async def test_every_page_has_the_pages_policy_and_no_inline_code(
    browser: Browser, harness: Harness
) -> None:
    await add_reports(harness.db, ROAD, known_set()[:2])
    for path in ("/", f"/commitments/{ROAD}", "/reports/CW-KNZZZY", "/agencies", "/nowhere"):
        answer = await browser.get(path)
        assert answer.status == (404 if path == "/nowhere" else 200), path
        assert answer.headers["Content-Security-Policy"] == PAGE_CSP, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        page = answer.page
        assert page.inline == [], (path, page.inline)
        # Usable with a keyboard and a screen reader: a skip link to the main content, one h1,
        # every form field labelled, every header cell scoped.
        assert page.find("a", href="#main") and page.find("main", id="main")
        assert len(page.find("h1")) == 1, path
        labelled = {label.get("for") for label in page.find("label")}
        for field in page.find("input") + page.find("select"):
            if field.get("type") != "hidden":
                assert field.get("id") in labelled, (path, field)
        for cell in page.find("th"):
            assert cell.get("scope") in ("col", "row"), (path, cell)
    css = await browser.get("/static/pages.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert ":focus-visible" in css.body


@pytest.mark.both_databases
async def test_reports_from_telegram_only_public_and_nobody_named(
    browser: Browser, harness: Harness, world: World
) -> None:
    home = (await browser.get("/", q=ROAD)).page.text
    assert (
        f"{ROAD} Kawo–Rigasa road rehabilitation Roads Kaduna State Ministry of Works 2 0" in home
    )
    scorecard = await browser.get(f"/commitments/{ROAD}")
    assert world.published in scorecard.body and world.answered in scorecard.body
    assert world.pending not in scorecard.body and world.rejected not in scorecard.body
    assert "2 public reports" in scorecard.page.text
    assert "Crew on site from Monday." in scorecard.page.text
    report = await browser.get(f"/reports/{world.published}")
    text = report.page.text
    assert "The new culvert is cracked and water pours onto the road." in text
    assert "1 citizen says the same" in text
    assert "published, sent to the agency" in text
    # typed as people type references
    typed = world.published.lower().replace("-", "")
    assert (await browser.get(f"/reports/{typed}")).status == 200
    answered = (await browser.get(f"/reports/{world.answered}")).page.text
    assert "in progress Crew on site from Monday." in answered
    for hidden in (world.pending, world.rejected):
        assert (await browser.get(f"/reports/{hidden}")).status == 404
    await browser.get("/agencies")
    await browser.get("/")
    for body in browser.seen:
        for private in world.private:
            assert private not in body


async def test_a_report_page_shows_the_public_side_only(browser: Browser, harness: Harness) -> None:
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned(
                "CW-RDZZZY",
                "published",
                (
                    ("published", P, "moderator", None),
                    ("not_responsible", P + H, "official", "Ask the water board."),
                    ("published", P + 2 * H, "moderator", "Rerouted: a moderator's reason"),
                ),
                text="My name is Amina, call 0803 555 0101 about the pothole",
                public_text="Call [redacted] about the pothole",
                place=(10.57316, 7.44127),
                supporters=3,
            )
        ],
    )
    answer = await browser.get("/reports/CW-RDZZZY")
    page = answer.page
    assert "Call [redacted] about the pothole" in page.text
    assert "Amina" not in answer.body and "0803" not in answer.body
    assert "Ask the water board." in page.text
    assert "a moderator's reason" not in answer.body
    assert "3 citizens say the same" in page.text
    assert "10.57316" not in answer.body and "7.44127" not in answer.body
    latitude, longitude = coarse(10.57316, 7.44127, 100.0)  # the centre of its 100 m cell
    assert f"{latitude:.4f}, {longitude:.4f}" in page.text
    assert "the agency says it is not responsible" in page.text
    assert page.find("img") == []  # it was sent without photos


async def test_the_irm_assessment_apart_from_citizens_evidence(
    browser: Browser, harness: Harness
) -> None:
    await import_file(harness.db, OGP_SAMPLE, "auto", country="Nigeria")
    answer = await browser.get("/commitments/NG0020")
    assert answer.status == 200
    page = answer.page
    text = page.text
    assert "The IRM's assessment Source: OGP IRM" in text
    for shown in (
        "Potential impact Transformative",
        "Completion (end of term) Substantial",
        "Did it open government? (overall) Major",
        "Relevant to OGP values yes",
        "Latest IRM report 2020",
    ):
        assert shown in text
    assert "https://opengovpartnership.org/members/nigeria/commitments/ng0020" in page.links()
    assert text.index("The IRM's assessment") < text.index("Citizens' evidence")
    # The export's "Yes" and "yes" alike are the reader's word for it.
    french = (await browser.get("/commitments/NG0015?lang=fr")).page.text
    assert "oui" in french and "Yes" not in french
    # A commitment the IRM has not assessed says so.
    road = (await browser.get(f"/commitments/{ROAD}")).page.text
    assert "The IRM has not assessed this commitment" in road


async def test_report_on_this_commitment_link_and_qr_code(
    browser: Browser, harness: Harness
) -> None:
    page = (await browser.get(f"/commitments/{ROAD}")).page
    link = f"https://t.me/commitment_watch_test_bot?start=c_{ROAD}"
    assert link in page.links()
    [image] = page.find("img", src=f"/commitments/{ROAD}/qr.svg")
    assert "QR code" in (image["alt"] or "")
    svg = await browser.get(f"/commitments/{ROAD}/qr.svg")
    assert svg.status == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    assert svg.body.lstrip().startswith(("<?xml", "<svg"))
    assert (await browser.get("/commitments/NO-SUCH/qr.svg")).status == 404
    # Without BOT_USERNAME there is no link to give.
    harness.services.settings = replace(harness.services.settings, bot_username=None)
    assert "t.me" not in (await browser.get(f"/commitments/{ROAD}")).body
    assert (await browser.get(f"/commitments/{ROAD}/qr.svg")).status == 404


async def test_scorecard_reports_are_paginated_newest_first(
    browser: Browser, harness: Harness
) -> None:
    plan = [
        Planned(
            f"CW-PG{n + 2222:04d}",
            "published",
            (("published", T0 + n * H + timedelta(minutes=1), "moderator", None),),
            created=T0 + n * H,
            text=f"Report number {n}",
        )
        for n in range(23)
    ]
    await add_reports(harness.db, ROAD, plan)
    first = (await browser.get(f"/commitments/{ROAD}")).page
    assert "23 public reports" in first.text
    references = [h for h in first.links() if h.startswith("/reports/")]
    assert references[0] == "/reports/CW-PG2244" and len(references) == 20
    second = (await browser.get(f"/commitments/{ROAD}", page="2")).page
    assert [h for h in second.links() if h.startswith("/reports/")] == [
        "/reports/CW-PG2224",
        "/reports/CW-PG2223",
        "/reports/CW-PG2222",
    ]
    assert second.find("a", rel="prev")[0]["href"] == f"/commitments/{ROAD}?page=1"
    assert (await browser.get(f"/commitments/{ROAD}", page="3")).status == 400


def test_page_parser_sees_inline_code() -> None:
    page = Page('<p style="x" onclick="y"><script>1</script><a href="javascript:z">a</a></p>')
    assert page.inline == [
        "p style=",
        "p onclick=",
        "<script> without src",
        "script text",
        "a href=javascript:",
    ]
