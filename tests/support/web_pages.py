"""The public pages as a reader's browser meets them: GET over real HTTP, the HTML parsed with
html.parser, and a known set of reports written straight into the real database (times chosen,
so that medians can be asserted exactly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import aiohttp
from sqlalchemy import select

from storage.db import Database
from storage.models import Agency, Citizen, Commitment, Report, ReportEvent, ReportSupporter
from storage.text import fold_text
from tests.support.harness import Harness

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """A parsed page: its text, elements with attributes, and what a CSP would refuse."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.inline: list[str] = []  # inline scripts, styles, event handlers, javascript: URLs
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script" and not attributes.get("src"):
            self.inline.append("<script> without src")
        self._in_script = tag == "script"
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}=")
            if value and value.strip().lower().startswith("javascript:"):
                self.inline.append(f"{tag} {name}=javascript:")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script text")
        if data.strip():
            self.texts.append(" ".join(data.split()))

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and all(attrs.get(k.rstrip("_")) == v for k, v in wanted.items())
        ]

    def root(self) -> dict[str, str | None]:
        return self.find("html")[0]

    def links(self) -> list[str]:
        return [a["href"] or "" for a in self.find("a") if a.get("href")]


@dataclass
class Answer:
    status: int
    headers: Any
    body: str

    @property
    def page(self) -> Page:
        return Page(self.body)


@dataclass
class Browser:
    """A reader without JavaScript: GETs pages and keeps every body it saw."""

    base: str
    http: aiohttp.ClientSession
    seen: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, harness: Harness, http: aiohttp.ClientSession) -> Browser:
        web = harness.runner.web
        assert web is not None and web.port
        return cls(f"http://127.0.0.1:{web.port}", http)

    async def get(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None, **params: str
    ) -> Answer:
        async with self.http.request(
            method, self.base + path, params=params or None, headers=headers
        ) as response:
            body = (await response.read()).decode("utf-8", "replace")
            answer = Answer(response.status, response.headers, body)
        self.seen.append(answer.body)
        return answer


# --- a known set of reports ---------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass(frozen=True)
class Planned:
    reference: str
    status: str
    # (to_status, when, actor kind, note) after creation (pending_review at created)
    history: tuple[tuple[str, datetime, str, str | None], ...]
    text: str | None = "Pothole by the market."
    public_text: str | None = None
    created: datetime = T0
    place: tuple[float, float] | None = (10.5731, 7.4412)
    supporters: int = 0


async def add_reports(
    db: Database, commitment_code: str, plan: list[Planned], citizen: Citizen | None = None
) -> Citizen:
    """Write the planned reports of one commitment, with their events; returns their author."""
    async with db.write() as session:
        commitment = await session.scalar(
            select(Commitment).where(Commitment.code == commitment_code)
        )
        assert commitment is not None
        if citizen is None:
            citizen = Citizen(telegram_user_id=8_800_001, language="en")
            session.add(citizen)
            await session.flush()
        for item in plan:
            last = item.history[-1][1] if item.history else item.created
            report = Report(
                reference=item.reference,
                commitment_id=commitment.id,
                citizen_id=citizen.id,
                kind="problem",
                text=item.text,
                public_text=item.public_text,
                language="en",
                latitude=item.place[0] if item.place else None,
                longitude=item.place[1] if item.place else None,
                status=item.status,
                created_at=item.created,
                updated_at=last,
            )
            session.add(report)
            await session.flush()
            session.add(
                ReportEvent(
                    report_id=report.id,
                    actor_kind="citizen",
                    actor_id=citizen.telegram_user_id,
                    action="created",
                    from_status="draft",
                    to_status="pending_review",
                    created_at=item.created,
                )
            )
            previous = "pending_review"
            for to_status, at, actor, note in item.history:
                session.add(
                    ReportEvent(
                        report_id=report.id,
                        actor_kind=actor,
                        actor_id=1,
                        action="status",
                        from_status=previous,
                        to_status=to_status,
                        note=note,
                        created_at=at,
                    )
                )
                previous = to_status
            for _n in range(item.supporters):
                session.add(ReportSupporter(report_id=report.id, citizen_id=None, created_at=last))
    return citizen


async def add_commitments(db: Database, count: int, prefix: str = "PG") -> None:
    """`count` more commitments of the seed catalog's agency, for pagination."""
    async with db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
        assert agency is not None
        for n in range(count):
            code = f"{prefix}-{n:03d}"
            title = f"Streetlight batch {n}"
            session.add(
                Commitment(
                    code=code,
                    titles={"en": title},
                    short_titles={},
                    descriptions={},
                    theme="Lighting",
                    agency_id=agency.id,
                    search_text=fold_text(f"{code} {title}"),
                )
            )
