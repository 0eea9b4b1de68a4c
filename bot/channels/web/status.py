"""The agencies' status endpoint: POST /agency/<code>/status.

The agency's system posts {"reference": "CW-...", "status": "acknowledged", "note": "..."},
signed like our webhooks (X-CommitmentWatch-Signature-256: sha256=HMAC-SHA256 of the raw body
with the agency's webhook secret). The answer goes through bot.reports.answers exactly as an official's
answer in Telegram: the state machine, an event (actor "agency", named by the agency's code),
and notices to the author and every supporter.

Answers, always JSON: 200 {"reference", "status", "changed"}; the same status again is 200 with
"changed": false (safe to retry); 400 malformed body; 401 missing or wrong signature (or no
secret set for the agency); 404 unknown agency, or a report that does not exist or is not this
agency's; 409 a status that is not an answer, or one the state machine refuses (with the
report's current status); 413 a body over 64 KiB.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot.channels.web.keys import SERVICES
from bot.channels.webhook import SIGNATURE_HEADER, signature_valid
from bot.reports import answers
from bot.reports.moderation import AlreadyDone, ReportNotFound
from bot.reports.references import normalize_reference
from storage.queries import agencies as agency_queries

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_NOTE = 1000


def _error(http_status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=http_status)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/agency/{code}/status", _status)


async def _status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    code = request.match_info["code"]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body over {MAX_BODY} bytes")
    async with services.db.read() as session:
        agency = await agency_queries.by_code(session, code)
    if agency is None:
        return _error(404, "unknown agency")
    if not agency.webhook_secret:
        return _error(401, "this agency has no webhook secret; ask the bot's admin to set one")
    if not signature_valid(agency.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("refused a status change for agency %s: bad signature", code)
        return _error(401, f"missing or wrong {SIGNATURE_HEADER}")
    parsed = _parse(body)
    if isinstance(parsed, web.Response):
        return parsed
    reference, status, note = parsed
    try:
        answer = await answers.answer_for_agency(services, agency.id, reference, status, note)
    except ValueError:
        return _error(409, f"{status!r} is not an answer an agency can give")
    except ReportNotFound:
        return _error(404, f"no report {reference} for agency {agency.code}")
    except AlreadyDone as done:
        return _error(
            409,
            f"report {done.reference} is {done.status} and cannot become {status}",
            reference=done.reference,
            status=done.status,
        )
    return web.json_response(
        {"reference": answer.reference, "status": answer.status, "changed": answer.changed}
    )


def _parse(body: bytes) -> tuple[str, str, str | None] | web.Response:
    """(reference, status, note) from the body, or the 400 answer saying what is wrong."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _error(400, f"malformed JSON: {error}")
    if not isinstance(document, dict):
        return _error(400, "expected a JSON object")
    reference, status, note = (document.get(k) for k in ("reference", "status", "note"))
    if not isinstance(reference, str) or not isinstance(status, str):
        return _error(400, '"reference" and "status" must be strings')
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        return _error(400, f'"note" must be a string of at most {MAX_NOTE} characters')
    # Something that cannot be a reference finds no report (404), like an unknown one.
    normalized = normalize_reference(reference) or reference
    return normalized, status, (note or "").strip() or None
