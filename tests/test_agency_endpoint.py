"""The signed status endpoint: the agency's system changes a report's status over real HTTP; the
citizen and a supporter hear it in their languages; every bad request is refused, changing
nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from storage.models import Agency, Report, ReportEvent
from tests.support.agency_channels import (
    SECRET,
    STAFF_CHAT,
    approve,
    configure_agency,
    expected_signature,
    staff,
    submit,
)
from tests.support.conversation import expect, text_of
from tests.support.flows import add_voice, set_language
from tests.support.harness import Harness

OTHER_SECRET = "another-agency-has-its-own-secret"


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0}  # 0: any free port


class AgencySystem:
    """The agency's side: posts status changes, signed as our README tells it to."""

    def __init__(self, harness: Harness) -> None:
        web = harness.runner.web
        assert web is not None and web.port
        self.base = f"http://127.0.0.1:{web.port}"

    async def post(
        self,
        document: Any,
        *,
        agency: str = "kaduna-works",
        secret: str | None = SECRET,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body = raw if raw is not None else json.dumps(document).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-CommitmentWatch-Signature-256"] = expected_signature(secret, body)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.base}/agency/{agency}/status", data=body, headers=headers) as r,
        ):
            return r.status, await r.json()


async def report_status(harness: Harness, reference: str) -> str:
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None
    return report.status


async def published_report_with_a_supporter(harness: Harness) -> tuple[str, Any, Any]:
    await configure_agency(harness, webhook_secret=SECRET)
    moderator, group = staff(harness)
    citizen, supporter = harness.user("en"), harness.user("en")
    reference = await submit(harness, citizen)
    await approve(moderator, group, reference)
    await expect(citizen, "was approved and published", timeout=15)
    await add_voice(supporter, reference, (10.57315, 7.44125))
    await set_language(harness.db, supporter.id, "ha")
    return reference, citizen, supporter


async def test_signed_status_change_reaches_citizen_and_supporter(harness: Harness) -> None:
    reference, citizen, supporter = await published_report_with_a_supporter(harness)
    system = AgencySystem(harness)
    status, answer = await system.post(
        {"reference": reference.lower(), "status": "acknowledged", "note": "Crew sent Monday."}
    )
    assert (status, answer) == (
        200,
        {"reference": reference, "status": "acknowledged", "changed": True},
    )
    notice = await expect(citizen, reference, "acknowledged by the agency", timeout=15)
    assert "kaduna-works" not in text_of(notice)
    hausa = await expect(supporter, reference, timeout=15)
    assert "acknowledged" not in text_of(hausa)  # in Hausa
    async with harness.db.read() as session:
        event = await session.scalar(select(ReportEvent).order_by(ReportEvent.id.desc()))
    assert event is not None
    assert (event.actor_kind, event.actor_name, event.to_status, event.note) == (
        "agency",
        "kaduna-works",
        "acknowledged",
        "Crew sent Monday.",
    )

    # The same request again (a client retrying after a lost answer): no change, no error.
    status, answer = await system.post({"reference": reference, "status": "acknowledged"})
    assert (status, answer["changed"], answer["status"]) == (200, False, "acknowledged")

    status, answer = await system.post({"reference": reference, "status": "resolved"})
    assert (status, answer["status"]) == (200, "resolved")
    await expect(citizen, reference, "resolved", timeout=15)
    # Resolved cannot go back to in progress: the state machine says no.
    status, answer = await system.post({"reference": reference, "status": "in_progress"})
    assert status == 409 and answer["status"] == "resolved" and "cannot become" in answer["error"]
    assert await report_status(harness, reference) == "resolved"


async def test_every_bad_request_is_refused_and_changes_nothing(harness: Harness) -> None:
    moderator, group = staff(harness)
    await configure_agency(harness, webhook_secret=SECRET)
    reference = await submit(harness, harness.user("en"))
    await approve(moderator, group, reference)
    async with harness.db.write() as session:
        session.add(Agency(code="other-agency", names={"en": "Other"}, webhook_secret=OTHER_SECRET))
        session.add(Agency(code="no-secret", names={"en": "No secret"}))
    system = AgencySystem(harness)
    good = {"reference": reference, "status": "in_progress"}

    cases: list[tuple[str, int, dict[str, Any]]] = [
        ("wrong secret", 401, {"secret": "not-the-secret"}),
        ("no signature", 401, {"secret": None}),
        ("unknown agency", 404, {"agency": "no-such-agency"}),
        ("agency without a secret", 401, {"agency": "no-secret", "secret": SECRET}),
        ("another agency's report", 404, {"agency": "other-agency", "secret": OTHER_SECRET}),
        ("malformed JSON", 400, {"raw": b'{"reference": '}),
        ("not an object", 400, {"raw": b'["in_progress"]'}),
        (
            "status not a string",
            400,
            {"raw": json.dumps({"reference": reference, "status": 3}).encode()},
        ),
        ("note too long", 400, {"raw": json.dumps({**good, "note": "x" * 1001}).encode()}),
    ]
    for name, expected, options in cases:
        status, answer = await system.post(good, **options)
        assert status == expected, (name, status, answer)
        assert answer["error"], name

    status, answer = await system.post({"reference": "CW-ZZZZZZ", "status": "in_progress"})
    assert status == 404 and "no report" in answer["error"]
    status, answer = await system.post({"reference": "garbage", "status": "in_progress"})
    assert status == 404
    status, answer = await system.post({"reference": reference, "status": "fixed"})
    assert status == 409 and "not an answer" in answer["error"]
    status, answer = await system.post({"reference": reference, "status": "rejected"})
    assert status == 409  # a moderator's decision, not the agency's
    assert await report_status(harness, reference) == "published"

    # A correctly signed body, then one byte changed: the signature no longer matches.
    body = json.dumps(good).encode()
    signature = expected_signature(SECRET, body)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{system.base}/agency/kaduna-works/status",
            data=body.replace(b"in_progress", b"resolved\x20\x20\x20"),
            headers={"X-CommitmentWatch-Signature-256": signature},
        ) as tampered,
    ):
        assert tampered.status == 401
    assert await report_status(harness, reference) == "published"
    status, _answer = await system.post(good)
    assert status == 200 and await report_status(harness, reference) == "in_progress"
