"""Open311 POST requests.json|xml: a partner channel (a web form, an SMS gateway, a call centre)
files reports with an API key made by the admin command line. Over real HTTP against the real
bot: the report waits in the moderation queue (its card in the staff group, in the emulator),
is public only once approved, and its partner's stand-in is never messaged in Telegram."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import select

from bot.app.cli import main
from bot.core.settings import ConfigError, load_settings
from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind
from emulator import SimulatedGroup
from handlers import register_handlers
from storage.models import ApiKey, Citizen, OutboxMessage, Report
from tests.support.agency_channels import SECRET, STAFF_CHAT, approve, configure_agency, staff
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.support.public_side import agency_answers

SCHEMAS = Path(__file__).resolve().parent / "data" / "open311"
LIMIT = 3  # OPEN311_POSTS_PER_MINUTE in these tests
PARTNER = "Kaduna SMS & Call Centre"
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
ROAD = (10.5731, 7.4412)
CALLER = {  # what a caller tells the partner about themselves: never stored, never shown
    "email": "amina.caller@example.org",
    "first_name": "Amina",
    "last_name": "Bello-Caller",
    "phone": "+2348031234567",
    "device_id": "sms-gw-77-device",
    "account_id": "acct-556677",
    "media_url": "http://photos.example.org/culvert.jpg",
}


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0, "open311_posts_per_minute": LIMIT}


# --- the admin command line, run in-process as an admin would run it -----------------------


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def _run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main(list(argv), register_handlers)
        except SystemExit as exc:  # argparse: usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        # main() runs its own event loop, as it does from a terminal.
        return await asyncio.to_thread(self._run, "api-keys", *argv)

    async def create(self, name: str) -> str:
        code, out, err = await self("create", name)
        assert code == 0, err
        key = out.strip().splitlines()[-1]
        assert KEY_SHAPE.match(key), out
        return key


@pytest.fixture
def cli(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    for name in ("DEFAULT_LOCALE", "TELEGRAM_BOT_TOKEN", "LOG_LEVEL", "BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    return Cli(capsys)


# --- a partner's system over real HTTP ------------------------------------------------------


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def xml(self) -> ElementTree.Element:
        return ElementTree.fromstring(self.body)

    def error(self) -> tuple[int, str]:
        [problem] = self.json()
        return problem["code"], problem["description"]


Post = Callable[..., Awaitable[Answer]]


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    web = harness.runner.web
    assert web is not None and web.port
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{web.port}"


@pytest.fixture
def post(http: tuple[aiohttp.ClientSession, str]) -> Post:
    session, base = http

    async def send(
        fields: dict[str, str] | None = None,
        fmt: str = "json",
        *,
        as_json: Any = None,
        data: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = f"{base}/open311/v2/requests.{fmt}"
        options: dict[str, Any] = {"params": params, "headers": headers}
        if as_json is not None:
            options["json"] = as_json
        else:
            options["data"] = data if data is not None else fields  # form-encoded
        async with session.post(url, **options) as response:
            return Answer(response.status, response.headers, await response.read())

    return send


@pytest.fixture
def get(http: tuple[aiohttp.ClientSession, str]) -> Callable[[str], Awaitable[Answer]]:
    session, base = http

    async def fetch(path: str) -> Answer:
        async with session.get(base + path) as response:
            return Answer(response.status, response.headers, await response.read())

    return fetch


def report_fields(key: str, **changes: str | None) -> dict[str, str]:
    fields: dict[str, str | None] = {
        "api_key": key,
        "service_code": "KAD-RD-017",
        "lat": str(ROAD[0]),
        "long": str(ROAD[1]),
        "address_string": "Kawo bridge, Kaduna",
        "description": "Caller says the culvert under the Kawo road collapsed overnight.",
        "attribute[kind]": "problem",
        "jurisdiction_id": "kaduna.example",
        **CALLER,
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def response_validator() -> jsonschema.protocols.Validator:
    """The specification's answer to POST, its Swagger RequestResponse definition."""
    swagger = json.loads((SCHEMAS / "swagger.json").read_text())
    item = swagger["definitions"]["RequestResponse"]
    schema = {"type": "array", "minItems": 1, "items": {**item, "required": ["service_request_id"]}}
    registry: Registry[Any] = Registry().with_resource(
        "swagger.json", Resource.from_contents(swagger, default_specification=DRAFT7)
    )
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    )


async def stand_ins(harness: Harness) -> dict[str, int]:
    """Each partner's stand-in Telegram user id, read from the database."""
    async with harness.db.read() as session:
        rows = await session.execute(
            select(ApiKey.partner, Citizen.telegram_user_id).join(
                Citizen, Citizen.id == ApiKey.citizen_id
            )
        )
    return {partner: telegram_id for partner, telegram_id in rows.all()}


def calls_to(harness: Harness, chat_ids: set[int]) -> list[Any]:
    return [
        call
        for call in harness.emulator.calls
        if call.params.get("chat_id") is not None and int(call.params["chat_id"]) in chat_ids
    ]


async def card_of(group: SimulatedGroup, reference: str) -> Any:
    return await expect(group, reference, "waiting for review", timeout=15)


async def report_row(harness: Harness, reference: str) -> Report:
    async with harness.db.read() as session:
        row = await session.scalar(select(Report).where(Report.reference == reference))
    assert row is not None
    return row


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_a_partner_report_waits_for_review_and_is_public_once_approved(
    harness: Harness, cli: Cli, post: Post, get: Callable[[str], Awaitable[Answer]]
) -> None:
    await configure_agency(harness, webhook_secret=SECRET)
    moderator, group = staff(harness)
    key = await cli.create(PARTNER)

    answer = await post(report_fields(key))
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    response_validator().validate(answer.json())
    [created] = answer.json()
    reference = created["service_request_id"]
    assert re.fullmatch(r"CW-[2-9A-HJ-NP-Z]{6}", reference)
    assert "moderator" in created["service_notice"]

    # In the moderation queue like a citizen's report, the partner named, escaped.
    card = await card_of(group, reference)
    assert "🔌 From partner: Kaduna SMS & Call Centre" in text_of(card)
    assert "From partner:</b> Kaduna SMS &amp; Call Centre" in (card.html or "")
    assert "Caller says the culvert under the Kawo road collapsed overnight." in text_of(card)
    assert "✅ Approve" in card.buttons
    # Nobody behind the report can be asked or blocked in Telegram.
    assert "❓ Ask the citizen" not in card.buttons and "🚷 Block sender" not in card.buttons

    # Not public while it waits.
    listed = await get("/open311/v2/requests.json")
    assert reference not in [r["service_request_id"] for r in listed.json()]
    assert (await get(f"/open311/v2/requests/{reference}.json")).status == 404

    await approve(moderator, group, reference, card)
    listed = await get("/open311/v2/requests.json")
    [public] = [r for r in listed.json() if r["service_request_id"] == reference]
    assert public["status"] == "open" and public["service_code"] == "KAD-RD-017"
    assert public["kind"] == "problem"
    assert public["description"] == (
        "Caller says the culvert under the Kawo road collapsed overnight."
    )
    one = await get(f"/open311/v2/requests/{reference}.json")
    assert one.status == 200 and one.json() == [public]

    # The agency resolves it: no fix-check is asked of anyone.
    await agency_answers(harness, reference, "resolved", "Culvert replaced.")

    # A second report, rejected by a moderator: nobody is told either.
    second = await post(report_fields(key, lat="10.5900", long="7.4600"))
    assert second.status == 200, second.body
    rejected = second.json()[0]["service_request_id"]
    await card_of(group, rejected)
    row = await report_row(harness, rejected)
    await moderation.reject(
        harness.services, row.id, "abusive", Actor(ActorKind.MODERATOR, moderator.id, "Ada")
    )

    async def settled() -> None:
        while True:
            async with harness.db.read() as session:
                due = harness.services.clock() + timedelta(seconds=1)
                waiting = await session.scalar(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= due)
                    .limit(1)
                )
            if waiting is None:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(settled(), 15)
    stand_in = (await stand_ins(harness))[PARTNER]
    assert stand_in < 0
    assert calls_to(harness, {stand_in}) == []  # no message, question or check, ever
    async with harness.db.read() as session:
        author = await session.scalar(
            select(Report.citizen_id).where(Report.reference == reference)
        )
        kinds = set(
            (
                await session.scalars(
                    select(OutboxMessage.kind).where(
                        OutboxMessage.payload["citizen_id"].as_integer() == author
                    )
                )
            ).all()
        )
        fix_checks = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "fix_check"))
        ).all()
    assert kinds == set() and fix_checks == []

    # What the caller said about themselves is nowhere: not stored, not shown, not served.
    staff_payloads = json.dumps(
        [c.params for c in calls_to(harness, {STAFF_CHAT})], ensure_ascii=False, default=str
    )
    served = (await get("/open311/v2/requests.json")).body.decode()
    async with harness.db.read() as session:
        stored = json.dumps(
            [
                [r.text, r.public_text, r.language]
                for r in (await session.scalars(select(Report))).all()
            ]
        )
    for private in CALLER.values():
        assert private not in staff_payloads and private not in served and private not in stored
    async with harness.db.read() as session:
        key_row = await session.scalar(select(ApiKey).where(ApiKey.partner == PARTNER))
    assert key_row is not None and key_row.last_used_at is not None


async def test_the_xml_variant_and_a_json_body(harness: Harness, cli: Cli, post: Post) -> None:
    _moderator, group = staff(harness)
    key = await cli.create("Rigasa web form")
    answer = await post(report_fields(key), fmt="xml")
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = answer.xml()
    assert root.tag == "service_requests"
    reference = root.findtext("request/service_request_id") or ""
    assert re.fullmatch(r"CW-[2-9A-HJ-NP-Z]{6}", reference)
    await card_of(group, reference)

    body = {
        "api_key": key,
        "service_code": "kad-rd-017",  # any letter case, as elsewhere
        "lat": 10.5800,
        "long": 7.4500,
        "description": "Work on the Rigasa end of the road has not moved in a month.",
        "attribute": {"kind": "stalled"},
    }
    answer = await post(as_json=body)
    assert answer.status == 200, answer.body
    response_validator().validate(answer.json())
    second = answer.json()[0]["service_request_id"]
    card = await card_of(group, second)
    assert "Rigasa web form" in text_of(card) and "Not started or stalled" in text_of(card)

    refused = await post(report_fields(key, description=None), fmt="xml")
    assert refused.status == 400
    assert refused.xml().tag == "errors"
    assert refused.xml().findtext("error/code") == "400"
    assert "description" in (refused.xml().findtext("error/description") or "")


async def test_keys_missing_wrong_or_revoked_are_refused(
    harness: Harness, cli: Cli, post: Post
) -> None:
    key = await cli.create("Call centre")
    cases = {
        "missing": report_fields(key, api_key=None),
        "empty": report_fields(key, api_key=""),
        "wrong": report_fields(key, api_key=key[:-1] + ("A" if key[-1] != "A" else "B")),
    }
    for case, fields in cases.items():
        answer = await post(fields)
        assert answer.status == 403, case
        code, description = answer.error()
        assert code == 403 and "api_key" in description, case
    in_url = await post(report_fields(key, api_key=None), params={"api_key": key})
    assert in_url.status == 403 and "never in the URL" in in_url.error()[1]

    assert (await post(report_fields(key))).status == 200
    code, out, err = await cli("revoke", "Call centre")
    assert code == 0 and "revoked" in out, err
    revoked = await post(report_fields(key))
    assert revoked.status == 403 and revoked.error() == (403, "api_key was revoked")
    xml = await post(report_fields(key), fmt="xml")
    assert xml.status == 403 and xml.xml().findtext("error/code") == "403"
    async with harness.db.read() as session:
        count = len((await session.scalars(select(Report))).all())
    assert count == 1  # only the report filed before the key was revoked


@pytest.mark.parametrize(
    ("changes", "status", "fragment"),
    [
        ({"attribute[kind]": None}, 400, "attribute[kind] is required"),
        ({"attribute[kind]": "complaint"}, 400, "attribute[kind] must be one of"),
        ({"description": None}, 400, "description is required"),
        ({"description": "Broken"}, 400, "at least 10 characters"),
        ({"description": "🚧🚧🚧🚧🚧🚧🚧🚧🚧🚧🚧"}, 400, "words"),
        ({"description": "x" * 2001}, 400, "at most 2000 characters"),
        ({"lat": None, "long": None}, 400, "does not look addresses up"),
        ({"lat": None, "long": None, "address_string": None}, 400, "a location is required"),
        ({"long": None}, 400, "lat and long must be sent together"),
        ({"lat": "north of the bridge"}, 400, "lat must be a number"),
        ({"long": "nan"}, 400, "long must be a number"),
        ({"lat": "95", "long": "7.44"}, 400, "not a place on Earth"),
        ({"lat": "51.5072", "long": "-0.1276"}, 400, "outside the region"),  # London
        ({"service_code": None}, 400, "service_code is required"),
        ({"service_code": "NOPE-404"}, 404, "no service 'NOPE-404'"),
    ],
)
async def test_what_the_specification_and_the_bot_refuse(
    harness: Harness,
    cli: Cli,
    post: Post,
    changes: dict[str, str | None],
    status: int,
    fragment: str,
) -> None:
    key = await cli.create("Form")
    answer = await post(report_fields(key, **changes))
    assert answer.status == status, answer.body
    code, description = answer.error()
    assert code == status and fragment in description, description
    async with harness.db.read() as session:
        assert (await session.scalars(select(Report))).all() == []


async def test_odd_bodies_are_refused_plainly(harness: Harness, cli: Cli, post: Post) -> None:
    key = await cli.create("Gateway")
    not_form = await post(data=b"api_key=x", headers={"Content-Type": "text/plain"})
    assert not_form.status == 400 and "x-www-form-urlencoded" in not_form.error()[1]
    bad_json = await post(data=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status == 400 and "JSON" in bad_json.error()[1]
    a_list = await post(as_json=[report_fields(key)])
    assert a_list.status == 400 and "one object" in a_list.error()[1]
    twice = await post(data=[*report_fields(key).items(), ("attribute[kind]", "praise")])
    assert twice.status == 400 and "attribute[kind]" in twice.error()[1]
    huge = await post(report_fields(key, description="x" * 70_000))
    assert huge.status == 413 and huge.error()[0] == 413
    async with harness.db.read() as session:
        assert (await session.scalars(select(Report))).all() == []


@pytest.mark.both_databases
async def test_too_many_posts_a_minute_answer_429_with_retry_after(
    harness: Harness, cli: Cli, post: Post
) -> None:
    staff(harness)
    busy, other = await cli.create("Busy gateway"), await cli.create("Quiet form")
    places = [(10.50 + i / 100, 7.40 + i / 100) for i in range(LIMIT + 2)]
    for lat, lon in places[:LIMIT]:
        answer = await post(report_fields(busy, lat=str(lat), long=str(lon)))
        assert answer.status == 200, answer.body
    lat, lon = places[LIMIT]
    over = await post(report_fields(busy, lat=str(lat), long=str(lon)))
    assert over.status == 429
    retry_after = int(over.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    code, description = over.error()
    assert code == 429 and f"at most {LIMIT} requests a minute" in description
    xml = await post(report_fields(busy, lat=str(lat), long=str(lon)), fmt="xml")
    assert xml.status == 429 and xml.xml().findtext("error/code") == "429"
    # Per key: another partner is not held back.
    lat, lon = places[LIMIT + 1]
    assert (await post(report_fields(other, lat=str(lat), long=str(lon)))).status == 200
    async with harness.db.read() as session:
        assert len((await session.scalars(select(Report))).all()) == LIMIT + 1


async def test_the_key_is_never_logged(
    harness: Harness, cli: Cli, post: Post, caplog: pytest.LogCaptureFixture
) -> None:
    staff(harness)
    key = await cli.create("Logged partner")
    caplog.set_level(logging.DEBUG)
    assert (await post(report_fields(key))).status == 200
    assert (await post(report_fields(key, description=None))).status == 400
    assert (await post(report_fields(key), params={"api_key": key})).status == 403
    assert (await post(report_fields(key[::-1]))).status == 403
    assert (await post(as_json={"api_key": key, "service_code": "NOPE"})).status == 400
    assert "Open311: partner Logged partner filed CW-" in caplog.text  # the logging ran
    assert key not in caplog.text and key[::-1] not in caplog.text
    assert hashlib.sha256(key.encode()).hexdigest() not in caplog.text


@pytest.mark.both_databases
async def test_api_keys_create_list_revoke(database_url: str, cli: Cli, database: Any) -> None:
    code, out, err = await cli("list")
    assert code == 0 and "no partner has an API key" in out, err

    key = await cli.create("Kaduna SMS")
    code, out, err = await cli("create", "Kaduna   SMS")  # the same name, spaced oddly
    assert code == 1 and "already has a key" in err and err.count("\n") == 1, err
    assert out == ""
    code, _out, err = await cli("create", "<script>")
    assert code == 2 and err.startswith("error: a partner's name") and "--help" in err
    other = await cli.create("Rigasa web form")
    assert other != key

    # Only the key's hash is kept; the key itself nowhere.
    async with database.read() as session:
        rows = (await session.scalars(select(ApiKey).order_by(ApiKey.partner))).all()
        citizens = {
            c.id: c.telegram_user_id for c in (await session.scalars(select(Citizen))).all()
        }
    assert [r.partner for r in rows] == ["Kaduna SMS", "Rigasa web form"]
    assert rows[0].key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    for row in rows:
        assert key not in json.dumps([row.partner, row.key_sha256])
        assert row.citizen_id < 0 and citizens[row.citizen_id] == row.citizen_id
    assert rows[0].citizen_id != rows[1].citizen_id

    code, out, err = await cli("list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["partner", "created", "last", "used", "revoked"]
    assert lines[1].startswith("Kaduna SMS ") and "never" in lines[1] and lines[1].endswith("no")
    assert lines[-1] == "2 partners"
    assert key not in out and other not in out and rows[0].key_sha256 not in out

    code, out, err = await cli("revoke", "Kaduna SMS")
    assert code == 0 and "revoked the API key of Kaduna SMS" in out, err
    code, _out, err = await cli("revoke", "Kaduna SMS")
    assert code == 1 and "already revoked" in err and err.count("\n") == 1
    code, _out, err = await cli("revoke", "Nobody")
    assert code == 1 and "no partner named 'Nobody'" in err and err.count("\n") == 1
    code, out, err = await cli("list")
    kaduna = next(line for line in out.splitlines() if line.startswith("Kaduna SMS"))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC$", kaduna), kaduna
    code, _out, err = await cli("create", "Kaduna SMS")  # a revoked key keeps its name
    assert code == 1 and "already has a key" in err


@pytest.mark.parametrize("value", ["0", "-1", "lots", "10001"])
def test_the_limit_setting_is_checked(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OPEN311_POSTS_PER_MINUTE"):
        load_settings({"OPEN311_POSTS_PER_MINUTE": value}, env_file=tmp_path / "none.env")
    settings = load_settings({}, env_file=tmp_path / "none.env")
    assert settings.open311_posts_per_minute == 30
