"""Reading Bot API parameters from any of the encodings Telegram accepts.

Telegram takes the query string, application/json, x-www-form-urlencoded and multipart/form-data.
In the form encodings every value is a string and objects arrive JSON-encoded (that is what
python-telegram-bot sends), so the typed accessors below accept both native and string values.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.errors import ApiError, bad_request

ATTACH_PREFIX = "attach://"


@dataclass
class UploadedFile:
    """One multipart part that carried a file."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """The parameters of one call, with Telegram-like coercion and error messages."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None):
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def get_raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str, *, empty_error: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if empty_error:
                raise bad_request(empty_error)
            return None if value is None else ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise bad_request(f'field "{name}" must be of type String')
        return value

    def get_int(self, name: str, *, empty_error: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if empty_error:
                raise bad_request(empty_error)
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f"invalid {name} specified")

    def get_float(self, name: str, *, empty_error: str | None = None) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            if empty_error:
                raise bad_request(empty_error)
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise bad_request(f"invalid {name} specified")

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)

    def get_json(self, name: str, *, what: str | None = None) -> Any:
        """An object or array parameter, native (JSON body) or JSON-encoded (form)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def chat_id(self) -> int | str:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return self.get_int("chat_id")  # type: ignore[return-value]
        except ApiError:
            raise bad_request("chat not found") from None

    def attachment(self, uri: str) -> UploadedFile:
        part = self.files.get(uri[len(ATTACH_PREFIX) :])
        if part is None:
            raise bad_request(f'can\'t find attached file "{uri}"')
        return part

    def for_record(self) -> dict[str, Any]:
        """A copy for emu.calls: decoded JSON values, files summarised instead of their bytes."""
        record: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            record[key] = value
        for key, part in self.files.items():
            record.setdefault(key, f"<file {part.filename or key} ({len(part.data)} bytes)>")
        return record


async def read_params(request: web.Request) -> Params:
    """Merge the query string and the body, whatever its encoding."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method not in ("POST", "PUT") or not request.can_read_body:
        return Params(values, files)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request body") from None
        if body is not None and not isinstance(body, dict):
            raise bad_request("JSON object expected as request body")
        values.update(body or {})
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    field=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            elif isinstance(value, bytes | bytearray):
                # A binary part without a filename: still an upload.
                files[key] = UploadedFile(
                    field=key, filename=None, content_type=None, data=bytes(value)
                )
            else:
                values[key] = value
    return Params(values, files)
