"""Work the bot repeats on a schedule in every worker (PTB's JobQueue): digests, retention."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application

from bot.core.services import Services, services_of

log = logging.getLogger(__name__)


def run_every(
    application: Application[Any, Any, Any, Any, Any, Any],
    name: str,
    work: Callable[[Services], Awaitable[object]],
    *,
    interval: float,
    first: float,
) -> None:
    """Run `work` every `interval` seconds, the first time after `first`; a failure is logged
    and the next run comes as planned (a database hiccup must not stop the schedule for good)."""
    if application.job_queue is None:
        log.warning("no job queue (python-telegram-bot[job-queue]); %s is not scheduled", name)
        return

    async def tick(context: Any) -> None:
        try:
            await work(services_of(context.application))
        except Exception:
            log.exception("%s failed; trying again in %d s", name, interval)

    application.job_queue.run_repeating(tick, interval=interval, first=first, name=name)
