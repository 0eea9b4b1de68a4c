"""Open311 answers as JSON or XML, the two formats of GeoReport v2, from the same documents; and
what every public answer shares: the reader's language, a button's label without its emoji.

JSON is the document itself (lists are bare arrays, as in the specification's examples); XML
names the root and each list's items as the specification does (<service_requests><request>,
<services><service>, <errors><error>), writes null as an empty element and true as "true".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

from bot.i18n.translate import accepted_languages, negotiate_preferred


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


# The element of each item of a list, by the list's own element (or by the root, for a bare list).
ITEMS = {
    "service_requests": "request",
    "services": "service",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
CONTENT_TYPES = {Format.JSON: "application/json", Format.XML: "text/xml"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = ITEMS[element.tag]
        for item in value:
            _fill(ElementTree.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def to_xml(root: str, document: Any) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, document)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(
    document: Any,
    fmt: Format,
    root: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """`document` in `fmt`; `root` is the XML root element (JSON has none)."""
    if fmt is Format.JSON:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        body = to_xml(root, document)
    return web.Response(
        body=body,
        status=status,
        content_type=CONTENT_TYPES[fmt],
        charset="utf-8",
        headers=headers,
    )


def error(status: int, description: str, fmt: Format = Format.JSON) -> web.Response:
    """The specification's error answer: [{"code": ..., "description": ...}]."""
    return answer([{"code": status, "description": description}], fmt, "errors", status)


def request_locale(request: web.Request, default: str) -> str:
    """The reader's language: ?lang=, else the browser's (Accept-Language), else `default`."""
    wanted = [
        request.query.get("lang", ""),
        *accepted_languages(request.headers.get("Accept-Language")),
    ]
    return negotiate_preferred([w for w in wanted if w], default)


def plain_label(label: str) -> str:
    """A button's label without its leading emoji: "⚠️ A problem" -> "A problem"."""
    return re.sub(r"^[^\w(]+", "", label, flags=re.UNICODE) or label
