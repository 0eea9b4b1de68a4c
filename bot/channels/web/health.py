"""GET and HEAD /healthz: whether a load balancer should send this worker anything.

200 {"status": "ok", "database": "ok", "outbox_lag_seconds": N, "draining": false} when the
database answers within DB_TIMEOUT_SECONDS and the oldest due, unsent outbox message has waited
no longer than HEALTH_MAX_OUTBOX_LAG_SECONDS; otherwise 503 with the same keys, "status":
"unavailable" and a "reason": "draining" (SIGTERM received: answered at once, without asking the
database), "database unreachable", or "outbox lag 412 s > 300 s". One query, served by the
outbox's (status, next_attempt_at) index. Nothing in it names a citizen, a key or a host.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.channels.web.keys import SERVICES
from bot.core.services import Services
from storage.queries import outbox as outbox_queries

log = logging.getLogger(__name__)

DB_TIMEOUT_SECONDS = 2.0
# Never cached on the way: each probe must see this worker as it is now.
HEADERS = {"Cache-Control": "no-store"}


class Health:
    """The check, and the memory of its last verdict: a failing check is logged once when it
    starts failing (and when it recovers), not at every probe."""

    def __init__(self, services: Services, db_timeout: float = DB_TIMEOUT_SECONDS) -> None:
        self._services = services
        self._db_timeout = db_timeout
        self._last_reason: str | None = None

    async def answer(self, request: web.Request) -> web.Response:
        body = await self.check()
        status = 200 if body["status"] == "ok" else 503
        return web.json_response(body, status=status, headers=HEADERS)

    async def check(self) -> dict[str, Any]:
        services = self._services
        if services.draining:
            return self._verdict(
                {"database": None, "outbox_lag_seconds": None, "draining": True}, "draining"
            )
        try:
            # The bookkeeping pool: handlers holding every connection of the main pool make a
            # busy worker, not an unreachable database.
            async with (
                asyncio.timeout(self._db_timeout),
                services.db.bookkeeping(writes=False) as session,
            ):
                due = await outbox_queries.next_due_at(session)
        except TimeoutError:
            return self._unreachable(f"no answer in {self._db_timeout:g} s")
        except Exception as error:  # any driver's way of saying the database is not there
            return self._unreachable(type(error).__name__)
        lag = 0 if due is None else max(0, int((services.clock() - due).total_seconds()))
        limit = services.settings.health_max_outbox_lag_seconds
        reason = f"outbox lag {lag} s > {limit} s" if lag > limit else None
        return self._verdict(
            {"database": "ok", "outbox_lag_seconds": lag, "draining": False}, reason
        )

    def _unreachable(self, why: str) -> dict[str, Any]:
        return self._verdict(
            {"database": "unreachable", "outbox_lag_seconds": None, "draining": False},
            "database unreachable",
            detail=why,
        )

    def _verdict(
        self, fields: dict[str, Any], reason: str | None, *, detail: str = ""
    ) -> dict[str, Any]:
        if reason != self._last_reason:
            if reason is None:
                log.info("healthz: healthy again")
            elif reason != "draining":  # the drain logs itself
                log.warning("healthz answers 503: %s%s", reason, f" ({detail})" if detail else "")
            self._last_reason = reason
        if reason is None:
            return {"status": "ok", **fields}
        return {"status": "unavailable", **fields, "reason": reason}


def add_routes(app: web.Application) -> None:
    # add_get answers HEAD too, with the same status and headers and no body.
    app.router.add_get("/healthz", Health(app[SERVICES]).answer)
