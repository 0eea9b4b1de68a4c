"""getUpdates long polling and the webhook methods."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from emulator.errors import bad_request, conflict
from emulator.registry import CallContext, api_method
from emulator.state import WebhookConfig
from emulator.webhook import start_delivery, stop_delivery

WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
# The emulator only ever talks to this machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _allowed_updates(ctx: CallContext) -> list[str] | None:
    value = ctx.params.get_json("allowed_updates", what="allowed_updates")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("can't parse allowed_updates JSON object")
    return value


@api_method("getUpdates")
async def get_updates(ctx: CallContext) -> list[dict[str, Any]]:
    params, bot, state = ctx.params, ctx.bot, ctx.state
    queue = bot.updates
    if bot.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    offset = params.get_int("offset")
    limit = min(100, max(1, params.get_int("limit") or 100))
    timeout = max(0.0, params.get_float("timeout") or 0.0)
    allowed = _allowed_updates(ctx)
    if allowed is not None:
        queue.set_allowed(allowed)
    # A newer poll ends an older one with 409, exactly like two bot instances on Telegram.
    bot.poll_generation += 1
    generation = bot.poll_generation
    queue.signal.fire()
    if offset is not None:
        if offset < 0:
            queue.keep_last(-offset)
        else:
            queue.confirm_below(offset)
    await queue.signal.wait_until(
        lambda: (
            queue.has_work
            or bot.poll_generation != generation
            or bot.webhook is not None
            or state.stopping
        ),
        timeout,
    )
    if bot.poll_generation != generation:
        raise conflict(TERMINATED)
    if bot.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    result = queue.redeliver[:limit]
    del queue.redeliver[: len(result)]
    result += queue.pending[: limit - len(result)]
    queue.mark_delivered(result)
    return result


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise bad_request(
            "bad webhook: the emulator only delivers to loopback addresses (127.0.0.1)"
        )


@api_method("setWebhook")
async def set_webhook(ctx: CallContext) -> bool:
    params, bot, state = ctx.params, ctx.bot, ctx.state
    url = params.get_str("url") or ""
    if not url:
        return await _delete_webhook(ctx)
    _check_webhook_url(url)
    secret = params.get_str("secret_token")
    if secret is not None and not _SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = _allowed_updates(ctx)
    max_connections = params.get_int("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("max_connections must be between 1 and 100")
    await stop_delivery(bot.webhook)
    if params.get_bool("drop_pending_updates"):
        bot.updates.pending.clear()
        bot.updates.redeliver.clear()
    if allowed is not None:
        bot.updates.set_allowed(allowed)
    bot.webhook = WebhookConfig(
        url=url, secret_token=secret, max_connections=max_connections, allowed_updates=allowed
    )
    start_delivery(state, bot, bot.webhook)
    bot.updates.signal.fire()  # a waiting getUpdates now answers 409
    return True


async def _delete_webhook(ctx: CallContext) -> bool:
    bot = ctx.bot
    config, bot.webhook = bot.webhook, None
    await stop_delivery(config)
    if ctx.params.get_bool("drop_pending_updates"):
        bot.updates.pending.clear()
        bot.updates.redeliver.clear()
    return True


@api_method("deleteWebhook")
async def delete_webhook(ctx: CallContext) -> bool:
    return await _delete_webhook(ctx)


@api_method("getWebhookInfo")
async def get_webhook_info(ctx: CallContext) -> dict[str, Any]:
    bot = ctx.bot
    queue = bot.updates
    info: dict[str, Any] = {
        "url": bot.webhook.url if bot.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(queue.pending) + len(queue.redeliver),
    }
    config = bot.webhook
    if config is not None:
        info["max_connections"] = config.max_connections
        info["ip_address"] = "127.0.0.1"
        if config.allowed_updates is not None:
            info["allowed_updates"] = config.allowed_updates
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
    return info
