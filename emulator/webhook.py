"""Delivering updates to a bot's webhook: one at a time, in order, retried until answered 2xx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import aiohttp

from emulator.state import BotAccount, EmulatorState, WebhookConfig

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = 5.0
DELIVERY_TIMEOUT = 10.0


def start_delivery(state: EmulatorState, bot: BotAccount, config: WebhookConfig) -> None:
    config.task = asyncio.get_running_loop().create_task(
        _deliver_forever(state, bot, config), name=f"webhook-{bot.username}"
    )


async def stop_delivery(config: WebhookConfig | None) -> None:
    if config is None or config.task is None:
        return
    task, config.task = config.task, None
    if task is asyncio.current_task():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _next_update(bot: BotAccount) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    queue = bot.updates
    if queue.redeliver:
        return queue.redeliver[0], queue.redeliver
    if queue.pending:
        return queue.pending[0], queue.pending
    return None


async def _deliver_forever(state: EmulatorState, bot: BotAccount, config: WebhookConfig) -> None:
    queue = bot.updates
    delay = state.webhook_retry_delay
    timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not state.stopping:
            await queue.signal.wait_until(lambda: queue.has_work or state.stopping, None)
            found = _next_update(bot)
            if state.stopping or found is None:
                continue
            update, source = found
            error = await _post(session, config, update)
            if error is None:
                if source and source[0] is update:
                    source.pop(0)
                queue.mark_delivered([update])
                delay = state.webhook_retry_delay
                continue
            config.last_error_date = state.now()
            config.last_error_message = error
            log.debug("webhook delivery of update %s failed: %s", update["update_id"], error)
            # Telegram backs off between attempts; a short internal pause, not a test sleep.
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)


async def _post(
    session: aiohttp.ClientSession, config: WebhookConfig, update: dict[str, Any]
) -> str | None:
    """POST one update; None on a 2xx answer, else the error text getWebhookInfo reports."""
    headers = {"Content-Type": "application/json"}
    if config.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
    try:
        async with session.post(
            config.url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers
        ) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except TimeoutError:
        return "Read timeout expired"
    except aiohttp.ClientConnectorError:
        return "Connection refused"
    except (aiohttp.ClientError, OSError) as error:
        return f"Connection error: {error.__class__.__name__}"
