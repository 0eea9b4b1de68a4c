"""The public web pages, rendered on the server (Jinja2 through aiohttp-jinja2):

    GET /                          the commitments: search (?q=), theme, agency, page
    GET /commitments/{code}        a commitment's scorecard (and /commitments/{code}/qr.svg)
    GET /reports/{reference}       a public report
    GET /agencies                  the agencies' responsiveness
    GET /map                       open reports on a map, with a list that needs no JavaScript
    GET /static/...                style sheets, scripts and images

Only GET and HEAD (405 otherwise); a parameter a page cannot take is a polite 400, an address
that leads nowhere a polite 404, both in the reader's language (bot/channels/web/pages/common.py).
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.web.pages import agencies, commitment, common, home, map, report


def add_routes(app: web.Application) -> None:
    common.setup(app)
    app.middlewares.append(common.page_errors)
    for module in (home, commitment, report, agencies, map):
        module.add_routes(app)
