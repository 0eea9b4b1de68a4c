"""The pages' computed figures, kept PUBLIC_FIGURES_CACHE_SECONDS (bot/core/memo.py): served as
computed until they expire, then computed again in the background while the value before is
still served; never a report kept (a withdrawn one leaves the scorecard at once); 0 computes on
every request (the rest of the suite runs so)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import update

from bot.core.memo import Memo
from storage.models import Report
from tests.support.harness import Harness
from tests.support.web_pages import Browser, add_reports
from tests.web.test_pages import ROAD, known_set


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A computation that says how many times it ran, and can be held until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the database went away")
        return self.calls


async def test_a_value_is_kept_for_its_ttl_then_computed_again_behind_the_old_one() -> None:
    clock, compute = Clock(), Counter()
    memo = Memo(clock)
    assert await memo.get("k", 60, compute) == 1
    clock.now += 59.9
    assert await memo.get("k", 60, compute) == 1
    assert compute.calls == 1
    # Expired: the value before, at once, while one computation runs in the background.
    clock.now += 0.2
    compute.release.clear()
    assert await memo.get("k", 60, compute) == 1
    assert await memo.get("k", 60, compute) == 1
    await asyncio.sleep(0)
    assert compute.calls == 2  # only one computation for both requests
    compute.release.set()
    await asyncio.sleep(0.01)
    assert await memo.get("k", 60, compute) == 2
    # Other keys are their own.
    assert await memo.get("other", 60, compute) == 3


async def test_no_ttl_computes_every_time_and_keeps_nothing() -> None:
    compute = Counter()
    memo = Memo(Clock())
    assert [await memo.get("k", 0, compute) for _ in range(3)] == [1, 2, 3]


async def test_first_requests_share_one_computation() -> None:
    compute = Counter()
    compute.release.clear()
    memo = Memo(Clock())
    waiting = [asyncio.create_task(memo.get("k", 60, compute)) for _ in range(5)]
    await asyncio.sleep(0.01)
    compute.release.set()
    assert await asyncio.gather(*waiting) == [1] * 5
    assert compute.calls == 1


async def test_a_failure_keeps_nothing_and_the_next_request_computes_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, compute = Clock(), Counter()
    memo = Memo(clock)
    assert await memo.get("k", 60, compute) == 1
    # A background refresh that fails drops the old value (it is logged, not raised) ...
    clock.now += 61
    compute.fail = True
    assert await memo.get("k", 60, compute) == 1
    await asyncio.sleep(0.01)
    assert "computing a public figure failed" in caplog.text
    # ... so the next request computes itself and sees the error; then a good value is kept.
    with pytest.raises(RuntimeError):
        await memo.get("k", 60, compute)
    compute.fail = False
    assert await memo.get("k", 60, compute) == 4
    assert await memo.get("k", 60, compute) == 4


async def test_close_stops_what_is_under_way() -> None:
    compute = Counter()
    compute.release.clear()
    memo = Memo(Clock())
    waiting = asyncio.create_task(memo.get("k", 60, compute))
    await asyncio.sleep(0.01)
    await memo.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    compute.release.set()
    assert await memo.get("k", 60, compute) == 2


AGENCY_ROW = "Kaduna State Ministry of Works 8 hours (over 7 reports)"
TOO_FEW = "Too few reports to tell (3; at least 5 needed)"


async def test_pages_show_cached_figures_but_never_a_report_no_longer_public(
    browser: Browser, harness: Harness
) -> None:
    harness.services.settings = replace(harness.services.settings, public_figures_cache_seconds=60)
    web = harness.runner.web
    assert web is not None
    clock = Clock()
    web.figures.clock = clock
    plan = known_set()
    author = await add_reports(harness.db, ROAD, plan[:3])
    assert TOO_FEW in (await browser.get("/agencies")).page.text
    assert TOO_FEW in (await browser.get(f"/commitments/{ROAD}")).page.text

    await add_reports(harness.db, ROAD, plan[3:], citizen=author)
    agencies = (await browser.get("/agencies")).page.text
    assert TOO_FEW in agencies and AGENCY_ROW not in agencies  # as computed a moment ago
    scorecard = await browser.get(f"/commitments/{ROAD}")
    assert TOO_FEW in scorecard.page.text
    # The scorecard's reports are read on every request: the new ones are listed at once ...
    assert "CW-KNZZZ7" in scorecard.body and "9 public reports" in scorecard.page.text
    # ... and one withdrawn leaves it at once, figures cached or not.
    async with harness.db.write() as session:
        await session.execute(
            update(Report).where(Report.reference == "CW-KNZZZ7").values(status="withdrawn")
        )
    scorecard = await browser.get(f"/commitments/{ROAD}")
    assert "CW-KNZZZ7" not in scorecard.body and "8 public reports" in scorecard.page.text
    assert (await browser.get("/reports/CW-KNZZZ7")).status == 404

    # Expired: the figures before once more, while they are computed again; then the new ones.
    clock.now += 61
    assert TOO_FEW in (await browser.get("/agencies")).page.text
    for _ in range(100):
        agencies = (await browser.get("/agencies")).page.text
        if TOO_FEW not in agencies:
            break
        await asyncio.sleep(0.05)
    # Seven answered of the seven published still counted (CW-KNZZZ7, never answered, is gone).
    assert "Kaduna State Ministry of Works 8 hours (over 7 reports)" in agencies
    assert "100 % (7 of 7)" in agencies


async def test_the_setting_at_zero_computes_on_every_request(
    browser: Browser, harness: Harness
) -> None:
    plan = known_set()
    author = await add_reports(harness.db, ROAD, plan[:3])
    assert TOO_FEW in (await browser.get("/agencies")).page.text
    await add_reports(harness.db, ROAD, plan[3:], citizen=author)
    assert AGENCY_ROW in (await browser.get("/agencies")).page.text
