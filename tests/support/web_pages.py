"""The public pages as a reader's browser meets them: GET over real HTTP, the HTML parsed with
html.parser, and a known set of reports written straight into the real database (times chosen,
so that medians can be asserted exactly; tools/planned_reports.py writes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from sqlalchemy import select

from storage.db import Database
from storage.models import Agency, Commitment
from storage.text import fold_text
from tests.support.harness import Harness
from tools.planned_reports import T0 as T0
from tools.planned_reports import D as D
from tools.planned_reports import H as H
from tools.planned_reports import Planned as Planned
from tools.planned_reports import add_reports as add_reports

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


# --- a known set of reports: Planned and add_reports, from tools/planned_reports.py -------------


async def rewrite_catalog(
    db: Database, code: str, *, title: str, description: str, theme: str, agency: str
) -> None:
    """What the catalog shows of a commitment, in English only: its title, description and
    theme, and its agency's name."""
    async with db.write() as session:
        commitment = await session.scalar(select(Commitment).where(Commitment.code == code))
        assert commitment is not None
        owner = await session.get(Agency, commitment.agency_id)
        assert owner is not None
        commitment.titles = {"en": title}
        commitment.descriptions = {"en": description}
        commitment.theme = theme
        owner.names = {"en": agency}


async def hostile_catalog(db: Database, code: str) -> None:
    """Markup in what the catalog shows of a commitment: its title, description and theme, and
    its agency's name."""
    await rewrite_catalog(
        db,
        code,
        title=f"Road {HOSTILE}",
        description=HOSTILE,
        theme=f"Roads {HOSTILE}",
        agency=f"Works {HOSTILE}",
    )


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
