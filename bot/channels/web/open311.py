"""Open311 GeoReport v2, read side: each commitment is a service, each public report a request.

    GET /open311/discovery.{json,xml}
    GET /open311/v2/services.{json,xml}              every commitment
    GET /open311/v2/services/{code}.{json,xml}       its definition: the kind of report, required
    GET /open311/v2/requests.{json,xml}              public reports, with the specification's filters
    GET /open311/v2/requests/{id}.{json,xml}         one public report, by its reference
    POST /open311/v2/requests.{json,xml}             a partner channel files a report (API key)

Names and descriptions are in the language asked for with ?lang=, else the browser's
(Accept-Language), else DEFAULT_LOCALE. A request's fields come from the one public serializer
(bot/reports/public.py): public text, coarse location, never who reported. Only public statuses
are ever served (open = published, acknowledged, in progress, reopened; closed = resolved,
duplicate, not responsible, no action); a pending, rejected or draft report is "not found", like
one that does not exist. jurisdiction_id is accepted and ignored: one bot serves one jurisdiction.

POST (the specification's "POST Service Request", form-encoded; a flat JSON object is taken too)
is for partner channels with an API key (bot/roles/partners.py): the report waits for review like
a citizen's (bot/reports/partner_reports.py) and the answer is its reference. The location must
be lat and long (an address_string or address_id alone is refused: nothing here looks addresses
up); attribute[kind] is the service definition's required attribute; description is required
(a report needs words). email, first_name, last_name, phone, device_id, account_id and media_url
are read past and never stored, shown or fetched. The api_key is read from the body only, never
logged, and refused in the URL (URLs end up in logs).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Row

from bot.catalog.commitments import localized
from bot.channels.web.formats import Format, answer, error, plain_label, request_locale
from bot.channels.web.keys import SERVICES
from bot.channels.web.photos import public_base
from bot.channels.web.status import MAX_BODY
from bot.core.services import Services
from bot.i18n.translate import _, use_locale
from bot.reports import drafting, partner_reports, public
from bot.reports.drafting import KIND_LABELS, Kind
from bot.reports.lifecycle import PUBLIC_CLOSED, PUBLIC_OPEN
from bot.reports.references import normalize_reference
from bot.roles import partners
from storage.queries import open311 as queries

log = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00Z"  # when what this server offers last changed
MAX_SPAN = timedelta(days=90)  # the specification's longest start_date..end_date
MAX_PAGE_SIZE = 1000  # the specification's default limit
OPEN_CLOSED = {"open": PUBLIC_OPEN, "closed": PUBLIC_CLOSED}
PUBLIC_NOTES = public.PUBLIC_NOTE_ACTORS
FORMAT = "{format:(json|xml)}"


class BadParameter(ValueError):
    """A query parameter the specification does not allow; the message says which and why."""


def add_routes(app: web.Application, *, accept_posts: bool = True) -> None:
    """The read side always; POST requests only where the bot runs (not in `serve-web`, a
    read-only process that may point at a read replica: there a POST gets 405)."""
    app.router.add_get(f"/open311/discovery.{FORMAT}", _discovery)
    app.router.add_get(f"/open311/v2/services.{FORMAT}", _services)
    app.router.add_get(f"/open311/v2/services/{{code:.+}}.{FORMAT}", _service_definition)
    app.router.add_get(f"/open311/v2/requests.{FORMAT}", _requests)
    if accept_posts:
        app.router.add_post(f"/open311/v2/requests.{FORMAT}", _create_request)
    app.router.add_get(f"/open311/v2/requests/{{id:[^/]+}}.{FORMAT}", _request)
    app.router.add_route("*", "/open311/{tail:.*}", _unknown)


def _format(request: web.Request) -> Format:
    return Format(request.match_info["format"])


def _locale(request: web.Request, services: Services) -> str:
    return request_locale(request, services.settings.default_locale)


async def _unknown(request: web.Request) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        return error(405, f"{request.method} is not allowed here")
    return error(404, f"no Open311 endpoint at {request.path}; see /open311/discovery.json")


# --- discovery and services ---------------------------------------------------------------------


async def _discovery(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    contact = services.settings.mail_from or None
    document = {
        "changeset": CHANGESET,
        "contact": contact,
        # Citizens report in Telegram; partner channels get a key from the administrators.
        "key_service": "API keys for creating requests are given to partner channels by the "
        "administrators of this service",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{request.url.origin()}/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return answer(document, _format(request), "discovery")


def _service(row: Row, locale: str, default: str) -> dict[str, Any]:
    commitment = row.Commitment
    keywords = [k for k in (commitment.theme, commitment.country, commitment.action_plan) if k]
    return {
        "service_code": commitment.code,
        "service_name": localized(commitment.titles or {}, locale, default) or commitment.code,
        "description": localized(commitment.descriptions or {}, locale, default) or None,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(keywords) or None,
        "group": commitment.theme,
    }


async def _services(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    locale = _locale(request, services)
    async with services.db.read() as session:
        rows = await queries.services(session)
    default = services.settings.default_locale
    return answer([_service(r, locale, default) for r in rows], _format(request), "services")


async def _service_definition(request: web.Request) -> web.Response:
    services, fmt = request.app[SERVICES], _format(request)
    async with services.db.read() as session:
        rows = await queries.services(session, request.match_info["code"])
    if not rows:
        return error(404, f"no service {request.match_info['code']!r}", fmt)
    with use_locale(_locale(request, services)):
        attribute = {
            "variable": True,
            "code": "kind",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": _("What kind of report is this?"),
            "values": [
                {"key": kind.value, "name": plain_label(_(KIND_LABELS[kind]))} for kind in Kind
            ],
        }
    document = {"service_code": rows[0].Commitment.code, "attributes": [attribute]}
    return answer(document, fmt, "service_definition")


# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def _moment(raw: str, name: str) -> datetime:
    """A W3C date-time (ISO 8601), e.g. 2024-05-01T00:00:00Z; UTC when it names no offset."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadParameter(
            f"{name} must be a W3C date-time such as 2024-05-01T00:00:00Z, got {raw!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(raw: str | None, name: str, default: int, most: int) -> int:
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw.strip()) or not 1 <= int(raw) <= most:
        raise BadParameter(f"{name} must be a whole number from 1 to {most}, got {raw!r}")
    return int(raw)


def _list(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _window(query: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """start_date..end_date, at most 90 days; the last 90 days when neither is given."""
    start = _moment(query["start_date"], "start_date") if "start_date" in query else None
    end = _moment(query["end_date"], "end_date") if "end_date" in query else None
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise BadParameter("end_date must not be before start_date")
    if end - start > MAX_SPAN:
        raise BadParameter("start_date and end_date may not be more than 90 days apart")
    return start, end


def request_query(query: Mapping[str, str], now: datetime) -> tuple[queries.RequestQuery, Page]:
    """The specification's filters as a query and a page; raises BadParameter."""
    page = Page(
        _number(query.get("page"), "page", 1, 10**6),
        _number(query.get("page_size"), "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    )
    ids = _list(query.get("service_request_id"))
    statuses = _list(query.get("status"))
    for status in statuses:
        if status.lower() not in OPEN_CLOSED:
            raise BadParameter(f"status must be open or closed (or both), got {status!r}")
    wanted = {s.lower() for s in statuses} or set(OPEN_CLOSED)
    common: dict[str, Any] = {
        "note_actor_kinds": PUBLIC_NOTES,
        "offset": (page.number - 1) * page.size,
        "limit": page.size + 1,  # one more than shown: is there a next page?
    }
    if ids:
        # The specification: service_request_id overrides every other filter.
        if len(ids) > MAX_PAGE_SIZE:
            raise BadParameter(f"at most {MAX_PAGE_SIZE} service_request_id values at once")
        references = tuple(normalize_reference(i) or i for i in ids)
        public_statuses = frozenset(PUBLIC_OPEN | PUBLIC_CLOSED)
        return queries.RequestQuery(public_statuses, references=references, **common), page
    start, end = _window(query, now)
    selected = frozenset().union(*(OPEN_CLOSED[s] for s in wanted))
    codes = tuple(_list(query.get("service_code")))
    return queries.RequestQuery(
        selected, commitment_codes=codes, start=start, end=end, **common
    ), page


def _request_document(
    row: Row, locale: str, services: Services, audience: public.Audience
) -> dict[str, Any]:
    default = services.settings.default_locale
    return public.open311_request(
        row,
        audience,
        service_name=localized(row.commitment_titles or {}, locale, default) or row.commitment_code,
        agency_responsible=localized(row.agency_names or {}, locale, default) or row.agency_code,
        status_notes=row.status_notes,
        supporter_count=row.supporter_count or 0,
    )


def _audience(request: web.Request, services: Services) -> public.Audience:
    """The public, with photo links (media_url) under PUBLIC_BASE_URL or this server's address."""
    return public.Audience.public(services.settings.public_location_grid_m, public_base(request))


def _links(request: web.Request, page: Page, more: bool) -> dict[str, str]:
    """RFC 8288 Link header to the neighbouring pages, relative to this server."""
    links = []
    if page.number > 1:
        links.append(f'<{request.rel_url.update_query(page=page.number - 1)}>; rel="prev"')
    if more:
        links.append(f'<{request.rel_url.update_query(page=page.number + 1)}>; rel="next"')
    return {"Link": ", ".join(links)} if links else {}


async def _requests(request: web.Request) -> web.Response:
    services, fmt = request.app[SERVICES], _format(request)
    try:
        query, page = request_query(request.query, services.clock())
    except BadParameter as problem:
        return error(400, str(problem), fmt)
    async with services.db.read() as session:
        rows = await queries.service_requests(session, query)
    locale = _locale(request, services)
    audience = _audience(request, services)
    documents = [_request_document(row, locale, services, audience) for row in rows[: page.size]]
    headers = _links(request, page, len(rows) > page.size)
    return answer(documents, fmt, "service_requests", headers=headers)


async def _request(request: web.Request) -> web.Response:
    services, fmt = request.app[SERVICES], _format(request)
    raw = request.match_info["id"]
    reference = normalize_reference(raw)
    rows = []
    if reference is not None:
        query = queries.RequestQuery(
            frozenset(PUBLIC_OPEN | PUBLIC_CLOSED),
            note_actor_kinds=PUBLIC_NOTES,
            references=(reference,),
            limit=1,
        )
        async with services.db.read() as session:
            rows = list(await queries.service_requests(session, query))
    if not rows:
        return error(404, f"no public service request {raw!r}", fmt)
    locale, audience = _locale(request, services), _audience(request, services)
    document = _request_document(rows[0], locale, services, audience)
    return answer([document], fmt, "service_requests")


# --- creating a request (partner channels) -----------------------------------------------------

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
KINDS = ", ".join(kind.value for kind in Kind)


class Refused(Exception):
    """An answer other than the new request's: status and the error's description."""

    def __init__(self, status: int, description: str, headers: Mapping[str, str] | None = None):
        super().__init__(status, description)
        self.status, self.description, self.headers = status, description, headers


async def _fields(request: web.Request) -> dict[str, str | list[str]]:
    """The request's fields, from a form (the specification's) or a flat JSON object, with
    attribute[code] as given (a list when repeated, as attribute[code][]=... is)."""
    if request.content_type == "application/json":
        try:
            document = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "the body is not valid JSON") from None
        if not isinstance(document, dict):
            raise Refused(400, "a JSON body must be one object of fields")
        attributes = document.pop("attribute", None)
        if isinstance(attributes, dict):
            document.update({f"attribute[{k}]": v for k, v in attributes.items()})
        fields: dict[str, str | list[str]] = {}
        for name, value in document.items():
            if isinstance(value, list):
                fields[str(name)] = [_scalar(v) for v in value]
            elif value is not None:
                fields[str(name)] = _scalar(value)
        return fields
    if request.content_type not in FORM_TYPES:
        raise Refused(400, "send the fields as application/x-www-form-urlencoded")
    form = await request.post()
    fields = {}
    for name in form:
        values = [v for v in form.getall(name) if isinstance(v, str)]
        key = name.removesuffix("[]")
        if values:
            fields[key] = values if len(values) > 1 or key != name else values[0]
    return fields


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Refused(400, "each field of a JSON body must be a string or a number")
    return str(value)


def _text_field(fields: Mapping[str, str | list[str]], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, list):
        raise Refused(400, f"{name} must be given once")
    return value.strip() if value is not None and value.strip() else None


def _degrees(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Refused(400, f"{name} must be a number of degrees (WGS84), got {raw!r}")
    return value


def partner_report(
    fields: Mapping[str, str | list[str]], language: str
) -> partner_reports.PartnerReport:
    """The fields as a report to file; Refused (400) says what is missing or wrong."""
    code = _text_field(fields, "service_code")
    if code is None:
        raise Refused(400, "service_code is required (see services.json)")
    lat, long = _text_field(fields, "lat"), _text_field(fields, "long")
    if lat is None and long is None:
        if _text_field(fields, "address_string") or _text_field(fields, "address_id"):
            raise Refused(400, "lat and long are required: this service does not look addresses up")
        raise Refused(400, "a location is required: lat and long (WGS84)")
    if lat is None or long is None:
        raise Refused(400, "lat and long must be sent together")
    kind_raw = fields.get("attribute[kind]")
    if kind_raw is None or (isinstance(kind_raw, str) and not kind_raw.strip()):
        raise Refused(400, f"attribute[kind] is required: one of {KINDS}")
    if isinstance(kind_raw, list) or kind_raw.strip() not in {k.value for k in Kind}:
        raise Refused(400, f"attribute[kind] must be one of {KINDS}, got {kind_raw!r}")
    description = _text_field(fields, "description")
    if description is None:
        raise Refused(400, "description is required: what was seen, in words")
    return partner_reports.PartnerReport(
        service_code=code,
        kind=Kind(kind_raw.strip()),
        text=description,
        latitude=_degrees(lat, "lat"),
        longitude=_degrees(long, "long"),
        language=language,
    )


def _refusal(problem: Exception) -> Refused:
    """The domain's refusals as the specification's errors."""
    match problem:
        case partners.KeyRefused():
            return Refused(403, str(problem))
        case partner_reports.TooManyPosts(limit=limit, retry_after=seconds):
            return Refused(
                429,
                f"at most {limit} requests a minute for one api_key; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        case partner_reports.UnknownService(code=code):
            return Refused(404, f"no service {code!r} (see services.json)")
        case drafting.TextWithoutWords():
            return Refused(400, "description must hold words (letters or digits)")
        case drafting.TextTooShort():
            return Refused(400, f"description must be at least {drafting.MIN_TEXT} characters")
        case drafting.TextTooLong(length=length):
            return Refused(
                400, f"description must be at most {drafting.MAX_TEXT} characters, got {length}"
            )
        case drafting.LocationImpossible():
            return Refused(400, "lat and long are not a place on Earth")
        case drafting.LocationOutsideRegion():
            return Refused(400, "lat and long lie outside the region this service covers")
    raise problem


async def _create_request(request: web.Request) -> web.Response:
    services, fmt = request.app[SERVICES], _format(request)
    try:
        if "api_key" in request.query:
            raise Refused(403, "send api_key in the request body, never in the URL")
        try:
            fields = await _fields(request)
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, f"the body is over {MAX_BODY} bytes") from None
        key = _text_field(fields, "api_key")
        try:
            partner = await partners.authenticate(services.db, key)
            locale = _locale(request, services)
            report = partner_report(fields, locale)
            reference = await partner_reports.file_partner_report(services, partner, report)
        except (partners.PartnerError, drafting.DraftError) as problem:
            raise _refusal(problem) from None
    except Refused as refused:
        return _error_with_headers(refused, fmt)
    log.info("Open311: partner %s filed %s", partner.name, reference)
    with use_locale(locale):
        notice = _("A moderator reviews the report; it is public once approved.")
    # account_id "may not be returned": partners' callers have no account here.
    document = [{"service_request_id": reference, "service_notice": notice}]
    return answer(document, fmt, "service_requests")


def _error_with_headers(refused: Refused, fmt: Format) -> web.Response:
    response = error(refused.status, refused.description, fmt)
    response.headers.update(refused.headers or {})
    return response
