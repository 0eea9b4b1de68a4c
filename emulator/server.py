"""The HTTP side: routes, token checks, fault injection, call recording, Telegram's envelopes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from functools import partial
from typing import Any

from aiohttp import web

# Imported for their side effect: each registers its methods in registry.METHODS.
from emulator import api_edit, api_misc, api_send, api_updates  # noqa: F401
from emulator.errors import ApiError, not_found, unauthorized
from emulator.files import MAX_DOWNLOAD_BYTES, MAX_UPLOAD_BYTES
from emulator.models import ApiCall
from emulator.params import Params, read_params
from emulator.registry import METHODS, CallContext, resolve_method
from emulator.state import EmulatorState

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{35}$")
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket so the client sees the connection die without any answer."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=200)


class ApiServer:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self.handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self.handle_file)
        return app

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        token = request.match_info["token"]
        method = resolve_method(request.match_info["method"])
        name = method or request.match_info["method"]
        params = Params({})
        bot = None
        fault: str | None = None
        try:
            if not TOKEN_PATTERN.match(token):
                raise not_found()  # Telegram answers malformed tokens with 404
            bot = state.bots.get(token)
            if bot is None or bot.logged_out:
                raise unauthorized()
            if method is None:
                raise not_found()
            try:
                params = await read_params(request)
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(413, "Request Entity Too Large") from None
            fault = state.faults.pick(method)
            if fault == "drop":
                self._record(name, params, 0, fault=fault, bot_id=bot.id)
                return _drop_connection(request)
            if fault == "5xx":
                self._record(name, params, 502, fault=fault, bot_id=bot.id)
                content_type, text = state.faults.gateway_body()
                return web.Response(status=502, text=text, content_type=content_type)
            result = await METHODS[method](CallContext(state, bot, params, method))
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.code, error.to_json()
        except Exception as error:  # an emulator bug: make it loud, not a silent hang
            log.exception("emulator failed on %s", name)
            status = 500
            body = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: emulator bug: {error!r}",
            }
        self._record(
            name,
            params,
            status,
            fault=fault,
            description=body.get("description"),
            bot_id=bot.id if bot else None,
        )
        if fault == "slow":
            await asyncio.sleep(state.faults.slow_seconds)
        if fault == "drop_after":
            return _drop_connection(request)
        return _json(status, body)

    def _record(
        self,
        method: str,
        params: Params,
        status: int,
        *,
        fault: str | None = None,
        description: str | None = None,
        bot_id: int | None = None,
    ) -> None:
        self.state.record_call(
            ApiCall(
                method,
                params.for_record(),
                status,
                fault=fault,
                description=description,
                bot_id=bot_id,
                at=self.state.clock(),
            )
        )

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        bot = self.state.bots.get(token)
        if not TOKEN_PATTERN.match(token) or bot is None or bot.logged_out:
            return _json(404, not_found().to_json())
        stored = self.state.files.by_path(request.match_info["path"])
        if stored is None or stored.size > MAX_DOWNLOAD_BYTES:
            return _json(404, not_found().to_json())
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
