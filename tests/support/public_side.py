"""The public side as its readers meet it: a civic app over real HTTP, and a small world of reports
made in Telegram (published, answered by the agency, waiting, rejected) to read back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import aiohttp
from sqlalchemy import select

from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind
from emulator import SimulatedGroup, SimulatedUser
from storage.models import Report
from tests.support.agency_channels import (
    SECRET,
    approve,
    configure_agency,
    expected_signature,
    staff,
    submit,
)
from tests.support.conversation import expect
from tests.support.flows import add_voice
from tests.support.harness import Harness

EXACT = (10.5731, 7.4412)
ELSEWHERE = (10.5790, 7.4480)  # far enough (about 1 km) not to be offered as a duplicate


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def xml(self) -> ElementTree.Element:
        return ElementTree.fromstring(self.body)


class Civic:
    """A civic app reading the bot's Open311 endpoint."""

    def __init__(self, harness: Harness, http: aiohttp.ClientSession) -> None:
        web = harness.runner.web
        assert web is not None and web.port
        self.base = f"http://127.0.0.1:{web.port}"
        self.http = http
        self.seen: list[bytes] = []

    async def get(self, path: str, method: str = "GET", **params: str) -> Answer:
        async with self.http.request(method, self.base + path, params=params) as response:
            answer = Answer(response.status, response.headers, await response.read())
        self.seen.append(answer.body)
        return answer


@dataclass
class World:
    published: str
    answered: str
    pending: str
    rejected: str
    private: tuple[str, ...]
    moderator: SimulatedUser
    group: SimulatedGroup


async def agency_answers(harness: Harness, reference: str, status: str, note: str) -> None:
    web = harness.runner.web
    assert web is not None
    body = json.dumps({"reference": reference, "status": status, "note": note}).encode()
    headers = {"X-CommitmentWatch-Signature-256": expected_signature(SECRET, body)}
    url = f"http://127.0.0.1:{web.port}/agency/kaduna-works/status"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        assert r.status == 200, await r.text()


async def make_world(harness: Harness) -> World:
    """Four reports on KAD-RD-017: published (with a supporter), answered by the agency with a
    note, still waiting for review, rejected."""
    await configure_agency(harness, webhook_secret=SECRET)
    moderator, group = staff(harness)
    authors = [
        harness.user("en", first_name="Zainab", username="zainab_kaduna"),
        harness.user("en", first_name="Musa", username="musa_rigasa"),
        harness.user("en", first_name="Ngozi"),
        harness.user("en", first_name="Tunde"),
    ]
    places = [EXACT, ELSEWHERE, (10.5850, 7.4550), (10.5910, 7.4620)]
    published, answered, pending, rejected = [
        await submit(harness, author, where=place)
        for author, place in zip(authors, places, strict=True)
    ]
    for reference in (published, answered):
        await approve(moderator, group, reference)
    await expect(authors[0], "was approved and published", timeout=15)
    await add_voice(harness.user("en"), published, (10.57315, 7.44125))
    await agency_answers(harness, answered, "in_progress", "Crew on site from Monday.")
    async with harness.db.read() as session:
        rejected_id = await session.scalar(select(Report.id).where(Report.reference == rejected))
    assert rejected_id is not None
    await moderation.reject(
        harness.services, rejected_id, "abusive", Actor(ActorKind.MODERATOR, moderator.id, "Ada")
    )
    private = tuple(
        str(value)
        for author in authors
        for value in (author.id, author.account.first_name, author.account.username)
        if value
    )
    return World(published, answered, pending, rejected, private, moderator, group)
