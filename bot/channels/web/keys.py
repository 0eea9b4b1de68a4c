"""What every route of the web server reads from its application (aiohttp's typed app keys)."""

from __future__ import annotations

from aiohttp import web

from bot.core.services import Services

SERVICES = web.AppKey("services", Services)
