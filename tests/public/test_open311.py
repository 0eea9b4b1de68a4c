"""Open311 GeoReport v2 over real HTTP: reports made in Telegram, approved by a moderator and
answered by the agency, read back as a civic app would, every answer checked against the
specification's JSON Schemas (tests/data/open311), nothing private in any of them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.support.geo import metres_between
from tests.support.harness import Harness
from tests.support.public_side import EXACT, Civic, World

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "open311"  # the specification's schemas


def schema_validator(name: str) -> jsonschema.protocols.Validator:
    documents = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (file, Resource.from_contents(doc, default_specification=DRAFT7))
        for file, doc in documents.items()
    )
    return jsonschema.Draft7Validator(
        documents[name], registry=registry, format_checker=jsonschema.FormatChecker()
    )


@pytest.mark.both_databases
async def test_requests_show_public_reports_only_in_the_specifications_shape(
    civic: Civic, world: World
) -> None:
    answer = await civic.get("/open311/v2/requests.json")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    requests = answer.json()
    schema_validator("requests.json").validate(requests)
    by_id = {r["service_request_id"]: r for r in requests}
    assert set(by_id) == {world.published, world.answered}  # newest first, public only
    assert [r["service_request_id"] for r in requests] == [world.answered, world.published]
    published = by_id[world.published]
    assert published["status"] == "open"
    assert published["service_code"] == "KAD-RD-017"
    assert published["service_name"] == "Kawo–Rigasa road rehabilitation"
    assert published["agency_responsible"] == "Kaduna State Ministry of Works"
    assert published["description"] == "The new culvert is cracked and water pours onto the road."
    assert published["status_notes"] is None
    assert published["kind"] == "problem" and published["supporter_count"] == 1
    assert published["requested_datetime"].endswith("Z")
    # A coarse place: the centre of the report's 100 m cell, not the point the citizen sent.
    shown = (published["lat"], published["long"])
    assert shown != EXACT and metres_between(shown, EXACT) <= 100 * math.sqrt(2) / 2
    answered = by_id[world.answered]
    assert answered["status_notes"] == "Crew on site from Monday."
    assert answered["supporter_count"] == 0


async def test_one_request_and_the_ones_never_public(civic: Civic, world: World) -> None:
    answer = await civic.get(f"/open311/v2/requests/{world.published}.json")
    assert answer.status == 200
    [request] = answer.json()
    schema_validator("requests.json").validate(answer.json())
    assert request["service_request_id"] == world.published
    # As people type references: lower case, without the dash.
    typed = world.published.lower().replace("-", "")
    assert (await civic.get(f"/open311/v2/requests/{typed}.json")).json() == [request]
    for hidden in (world.pending, world.rejected, "CW-ZZZZZZ", "not-a-reference"):
        refused = await civic.get(f"/open311/v2/requests/{hidden}.json")
        assert refused.status == 404
        [error] = refused.json()
        assert error["code"] == 404 and hidden in error["description"]


@pytest.mark.both_databases
async def test_filters_of_the_specification(civic: Civic, world: World) -> None:
    async def ids(**params: str) -> list[str]:
        answer = await civic.get("/open311/v2/requests.json", **params)
        assert answer.status == 200, answer.body
        return [r["service_request_id"] for r in answer.json()]

    both = {world.published, world.answered}
    assert set(await ids(status="open")) == both
    assert await ids(status="closed") == []
    assert set(await ids(status="open,closed")) == both
    assert set(await ids(service_code="KAD-RD-017")) == both
    assert set(await ids(service_code="kad-rd-017,KAD-HC-004")) == both
    assert await ids(service_code="KAD-HC-004") == []
    # service_request_id overrides every other filter, and never reveals a private report.
    chosen = f"{world.published},{world.pending},{world.rejected}"
    assert await ids(service_request_id=chosen, status="closed") == [world.published]
    # The default window is the last 90 days; these reports are from today.
    assert set(await ids(start_date="2000-01-01T00:00:00Z")) == set()
    assert set(await ids(end_date="2000-01-01T00:00:00Z")) == set()
    assert set(await ids(jurisdiction_id="kaduna.example")) == both


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}, "before"),
        ({"start_date": "yesterday"}, "W3C date-time"),
        ({"status": "pending"}, "open or closed"),
        ({"page_size": "1001"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page": "²"}, "page"),
    ],
)
async def test_bad_filters_are_refused_as_the_specification_says(
    civic: Civic, harness: Harness, params: dict[str, str], fragment: str
) -> None:
    for fmt in ("json", "xml"):
        answer = await civic.get(f"/open311/v2/requests.{fmt}", **params)
        assert answer.status == 400
        if fmt == "json":
            [error] = answer.json()
            assert error["code"] == 400 and fragment in error["description"]
        else:
            root = answer.xml()
            assert root.tag == "errors"
            assert root.findtext("error/code") == "400"
            assert fragment in (root.findtext("error/description") or "")


async def test_pages_are_linked(civic: Civic, world: World) -> None:
    first = await civic.get("/open311/v2/requests.json", page_size="1", status="open")
    assert [r["service_request_id"] for r in first.json()] == [world.answered]
    assert first.headers["Link"] == (
        '</open311/v2/requests.json?page_size=1&status=open&page=2>; rel="next"'
    )
    second = await civic.get("/open311/v2/requests.json", page_size="1", status="open", page="2")
    assert [r["service_request_id"] for r in second.json()] == [world.published]
    assert second.headers["Link"] == (
        '</open311/v2/requests.json?page_size=1&status=open&page=1>; rel="prev"'
    )
    third = await civic.get("/open311/v2/requests.json", page_size="1", page="3")
    assert third.json() == [] and "Link" in third.headers  # a way back, none further


async def test_xml_says_the_same_as_json(civic: Civic, world: World) -> None:
    as_json = (await civic.get("/open311/v2/requests.json")).json()
    answer = await civic.get("/open311/v2/requests.xml")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = answer.xml()
    assert root.tag == "service_requests"
    items = root.findall("request")
    assert [i.findtext("service_request_id") for i in items] == [
        r["service_request_id"] for r in as_json
    ]
    for item, document in zip(items, as_json, strict=True):
        assert [child.tag for child in item] == list(document)
        for key, value in document.items():
            expected = "" if value is None else str(value)
            assert (item.findtext(key) or "") == expected, key


async def test_services_are_the_commitments(civic: Civic, harness: Harness) -> None:
    answer = await civic.get("/open311/v2/services.json")
    assert answer.status == 200
    services = answer.json()
    schema_validator("services.json").validate(services)
    road = next(s for s in services if s["service_code"] == "KAD-RD-017")
    assert road == {
        "service_code": "KAD-RD-017",
        "service_name": "Kawo–Rigasa road rehabilitation",
        "description": None,
        "metadata": True,
        "type": "realtime",
        "keywords": "Roads",
        "group": "Roads",
    }
    assert len(services) == 6
    # In the language asked for, then the browser's, then the default.
    hausa = (await civic.get("/open311/v2/services.json", lang="ha")).json()
    assert next(s for s in hausa if s["service_code"] == "KAD-RD-017")["service_name"] == (
        "Gyaran titin Kawo zuwa Rigasa"
    )
    async with civic.http.get(
        civic.base + "/open311/v2/services.json", headers={"Accept-Language": "de, fr;q=0.9"}
    ) as response:
        french = await response.json()
    clinic = next(s for s in french if s["service_code"] == "KAD-HC-004")
    assert clinic["service_name"] == "Centre de santé primaire, Ungwan Rimi"
    root = (await civic.get("/open311/v2/services.xml")).xml()
    assert root.tag == "services"
    assert sorted(s.findtext("service_code") or "" for s in root.findall("service")) == sorted(
        s["service_code"] for s in services
    )
    assert root.find("service/metadata") is not None
    assert root.findtext("service/metadata") == "true"


async def test_a_service_definition_asks_for_the_kind(civic: Civic, harness: Harness) -> None:
    answer = await civic.get("/open311/v2/services/KAD-RD-017.json")
    assert answer.status == 200
    definition = answer.json()
    schema_validator("service-definition.json").validate(definition)
    [kind] = definition["attributes"]
    assert (kind["code"], kind["datatype"], kind["required"]) == ("kind", "singlevaluelist", True)
    assert [v["key"] for v in kind["values"]] == [
        "problem",
        "progress",
        "stalled",
        "question",
        "praise",
    ]
    assert kind["values"][0]["name"] == "A problem"
    root = (await civic.get("/open311/v2/services/kad-rd-017.xml")).xml()
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "KAD-RD-017"
    assert len(root.findall("attributes/attribute/values/value")) == 5
    missing = await civic.get("/open311/v2/services/NOPE-1.json")
    assert missing.status == 404 and missing.json()[0]["code"] == 404


async def test_discovery(civic: Civic, harness: Harness) -> None:
    document = (await civic.get("/open311/discovery.json")).json()
    [endpoint] = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{civic.base}/open311/v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    services = await civic.get(endpoint["url"].removeprefix(civic.base) + "/services.json")
    assert services.status == 200
    root = (await civic.get("/open311/discovery.xml")).xml()
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/formats/format") == "application/json"


async def test_what_is_not_offered_is_refused_plainly(civic: Civic, harness: Harness) -> None:
    unknown = await civic.get("/open311/v2/tokens/1.json")
    assert unknown.status == 404 and unknown.json()[0]["code"] == 404
    wrong_format = await civic.get("/open311/v2/requests.csv")
    assert wrong_format.status == 404
    # POST requests.json is for partner channels (tests/test_open311_post.py); not here.
    posted = await civic.get("/open311/v2/services.json", method="POST")
    assert posted.status == 405
    deleted = await civic.get("/open311/v2/services.json", method="DELETE")
    assert deleted.status == 405
    for answer in (unknown, posted):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


async def test_no_answer_names_a_citizen(civic: Civic, world: World) -> None:
    paths = [
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests/{world.published}.json",
        f"/open311/v2/requests.json?service_request_id={world.pending},{world.rejected}",
        "/open311/v2/services.json",
        "/open311/discovery.json",
    ]
    for path in paths:
        answer = await civic.get(path)
        assert answer.status == 200, path
    assert len(civic.seen) == len(paths)
    for body in civic.seen:
        text = body.decode()
        for private in world.private:
            assert private not in text
        assert "abusive" not in text  # the moderator's reason for rejecting
