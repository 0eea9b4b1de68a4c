"""What every route of the web server reads from its application (aiohttp's typed app keys)."""

from __future__ import annotations

from aiohttp import web

from bot.core.memo import Memo
from bot.core.services import Services

SERVICES = web.AppKey("services", Services)
# The pages' computed figures, kept PUBLIC_FIGURES_CACHE_SECONDS (bot/core/memo.py).
FIGURES = web.AppKey("figures", Memo)
