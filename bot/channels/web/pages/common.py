"""What every public page shares: the reader's language, the Jinja2 environment with the bot's
translations, the page's security policy, query parameters and their polite refusals.

Pages are rendered on the server, work without JavaScript, and are in the reader's language
(?lang=, else Accept-Language, else DEFAULT_LOCALE; right to left for Arabic). Every visible
string goes through the bot's gettext catalogs: templates call `_()` and `ngettext()`, which
translate into the locale set around the rendering (bot/i18n/translate.py), and fill their
{placeholders} with str.format; Jinja2 escapes everything it prints (autoescape).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.catalog.commitments import localized
from bot.channels.web.formats import plain_label, request_locale
from bot.channels.web.keys import FIGURES, SERVICES
from bot.digests.text import duration
from bot.i18n.formatting import format_date, format_datetime, format_number
from bot.i18n.languages import language_choices
from bot.i18n.translate import _, gettext, is_rtl, ngettext, use_locale
from bot.reports.drafting import KIND_LABELS, Kind
from bot.reports.lifecycle import status_label

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "templates"
STATIC = HERE.parent / "static"
PAGE_SIZE = 20
MAX_PAGE = 100_000
MAX_QUERY = 200  # characters of a search
# Pages may load their own style sheets, scripts and images, and nothing else; no inline script
# or style (the templates have none), no frames, forms only to this server.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Paths that are not pages: they answer in their own formats (JSON, XML, files).
NOT_PAGES = ("/open311/", "/data/", "/agency/", "/static/", "/media/")


T = TypeVar("T")


class BadQuery(ValueError):
    """A query parameter the page cannot take; the message is shown to the reader (translated)."""


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


def setup(app: web.Application) -> None:
    """The Jinja2 environment (autoescape, the i18n extension with the bot's translations) and
    the static files."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Plain (old-style) callables: they return text, which Jinja2 escapes when printed.
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(
        format_date=format_date,
        format_datetime=format_datetime,
        format_number=format_number,
        duration=duration,
        status_label=status_label,
        kind_label=kind_label,
        percent=percent,
    )
    app.router.add_static("/static/", STATIC, name="static", append_version=False)


async def figures(request: web.Request, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
    """Computed figures (aggregates only, never a report), reused for
    PUBLIC_FIGURES_CACHE_SECONDS by this process (bot/core/memo.py)."""
    ttl = request.app[SERVICES].settings.public_figures_cache_seconds
    return await request.app[FIGURES].get(key, ttl, compute)


def kind_label(kind: str) -> str:
    try:
        return plain_label(_(KIND_LABELS[Kind(kind)]))
    except ValueError:
        return kind


def percent(ratio: float) -> str:
    return format_number(100 * ratio) + " %"


def locale_of(request: web.Request) -> str:
    return request_locale(request, request.app[SERVICES].settings.default_locale)


def explicit_lang(request: web.Request) -> str | None:
    """The language asked for in the address, kept in the page's own links."""
    return request.query.get("lang") or None


def page_number(request: web.Request, name: str = "page") -> int:
    """?page=N, 1 when absent; BadQuery for anything but a whole number from 1."""
    raw = request.query.get(name)
    if raw is None:
        return 1
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadQuery(_("The page number must be a whole number from 1."))
    return int(raw)


def text_param(request: web.Request, name: str, most: int = MAX_QUERY) -> str | None:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        return None
    if len(raw) > most or any(ord(ch) < 32 for ch in raw):
        raise BadQuery(_("That search is too long or holds characters it cannot take."))
    return raw.strip()


def only(request: web.Request, *names: str) -> None:
    """Refuse a parameter the page does not know (a typo would otherwise be silently ignored)."""
    for name in request.query:
        if name not in (*names, "lang"):
            raise BadQuery(_("This page does not take the parameter {name}.").format(name=name))


@dataclass(frozen=True)
class Pagination:
    page: int
    pages: int
    total: int
    previous_url: str | None
    next_url: str | None


def pagination(request: web.Request, page: int, total: int, name: str = "page") -> Pagination:
    pages = max(1, -(-total // PAGE_SIZE))

    def url(number: int) -> str:
        params = dict(request.query)
        params[name] = str(number)
        return f"{request.path}?{urlencode(params)}"

    return Pagination(
        page,
        pages,
        total,
        url(page - 1) if page > 1 else None,
        url(page + 1) if page < pages else None,
    )


def link(request: web.Request, path: str, **params: Any) -> str:
    """An address on this server, carrying the reader's explicit language choice."""
    query = {k: str(v) for k, v in params.items() if v is not None}
    lang = explicit_lang(request)
    if lang is not None and "lang" not in query:
        query["lang"] = lang
    return f"{path}?{urlencode(query)}" if query else path


def _languages(request: web.Request, current: str) -> list[dict[str, Any]]:
    params = {k: v for k, v in request.query.items() if k != "lang"}
    return [
        {
            "code": code,
            "name": name,
            "url": f"{request.path}?{urlencode({**params, 'lang': code})}",
            "current": code == current,
        }
        for code, name in language_choices()
    ]


def full_title(titles: Mapping[str, str] | None, locale: str, default: str, code: str) -> str:
    return localized(titles or {}, locale, default) or code


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    locale: str | None = None,
) -> web.Response:
    """The page in the reader's language, with the pages' security policy."""
    locale = locale or locale_of(request)
    with use_locale(locale):
        full = {
            "lang": locale,
            "dir": "rtl" if is_rtl(locale) else "ltr",
            "languages": _languages(request, locale),
            "link": lambda path, **params: link(request, path, **params),
            "path": request.path,
            **context,
        }
        response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Content-Language"] = locale
    return response


def error_page(request: web.Request, status: int, message: str | None = None) -> web.Response:
    locale = locale_of(request)
    with use_locale(locale):
        titles = {
            # Translators: the heading of the web page for an address that leads nowhere.
            404: _("Page not found"),
            405: _("Not possible here"),
            400: _("We could not read that address"),
        }
        explanations = {
            404: _(
                "Sorry, there is nothing at this address. It may have been mistyped, or the report may not be public."
            ),
            405: _("Sorry, these pages can only be read, not sent to."),
            400: _("Sorry, part of the address is not right."),
        }
        context = {
            "title": titles.get(status, _("Something went wrong")),
            "explanation": explanations.get(status, ""),
            "message": message,
            "status": status,
        }
    return render(request, "error.html", context, status=status, locale=locale)


@web.middleware
async def page_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """The reader's language for the whole request; a polite page in it for a page's 400, 404
    and 405."""
    with use_locale(locale_of(request)):
        return await _answer(request, handler)


async def _answer(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadQuery as problem:
        return error_page(request, 400, str(problem))
    except web.HTTPNotFound:
        if not is_page(request.path):
            raise
        return error_page(request, 404)
    except web.HTTPMethodNotAllowed as refused:
        if not is_page(request.path):
            raise
        response = error_page(request, 405)
        response.headers["Allow"] = ", ".join(sorted(refused.allowed_methods))
        return response
