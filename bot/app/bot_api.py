"""How the bot's requests reach the Bot API: the HTTP client, pacing and retries.

Pacing (BotApiLimiter): calls that put or change a message in a chat (is_paced: send*, copy*,
forward*, edit*, stop*) count against MAX_MESSAGES_PER_SECOND overall and 20 a minute per group;
reads and answers (getChatMember, getChat, getFile, answerCallbackQuery, setMyCommands, ...) are
not paced, though they too wait while a 429 is being waited out.

Retries (BotApiLimiter), for every call the bot makes except the outbox's, whose dispatcher has
its own schedule (bot/outbox/dispatcher.py):

- 429 Too Many Requests: wait exactly retry_after, holding back the bot's other paced calls
  meanwhile, then try again (up to MAX_RETRY_AFTER times; the outbox's sends too, as before).
  A 429 on a person's private chat is that chat's own limit (the overall rate is paced below
  Telegram's): only that call waits, the others go on.
- Telegram certainly did not carry the request out: a 5xx answer, no connection (refused, DNS,
  connect timeout), or no free connection in our pool (pool timeout). Tried again up to
  TRANSIENT_RETRIES times, after a jittered exponential backoff (BACKOFF_SECONDS doubled each
  time, between half and all of it).
- Telegram may have carried it out: the request was sent but the answer never came (read or
  write timeout, connection dropped or reset after sending). A call that creates a message
  (CREATES_MESSAGE: sendMessage, sendPhoto, sendMediaGroup, copyMessage, forwardMessage, ...) is
  then not sent again, since the person may already have it; the error reaches the handler.
  Every other call (edits, answerCallbackQuery, getChatMember, getFile, setMyCommands, ...) is
  idempotent or harmless twice and is tried again like the above.
- Telegram refused it (400, 401, 403, 404, 409): never tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import httpx
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest

from bot.app.shared_pace import SharedPace

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 5
TRANSIENT_RETRIES = 3
BACKOFF_SECONDS = 0.5
# The most messages the overall limiter lets out at once (see smooth_pace).
PACE_BURST = 3.0

# Calls that create a message: after a request that may have reached Telegram, not sent again.
CREATES_MESSAGE = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendMediaGroup",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendVideoNote",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendPaidMedia",
        "sendInvoice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)

# Calls that Telegram's flood limits count: sending, copying, forwarding, editing, stopping.
PACED_PREFIXES = ("send", "copy", "forward", "edit", "stop")

_NOT_SENT_CAUSES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_outbox_delivery: ContextVar[bool] = ContextVar("outbox_delivery", default=False)

Result = bool | JSONDict | list[JSONDict]
T = TypeVar("T")
R = TypeVar("R")


class BotApiRequest(HTTPXRequest):
    """PTB's HTTPX client, except that an answer that is not JSON (a proxy's HTML "502 Bad
    Gateway" page in front of Telegram) is an ordinary error, not an ERROR record with a
    traceback."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        text = payload.decode("utf-8", "replace")
        try:
            return json.loads(text)  # type: ignore[no-any-return]
        except ValueError as exc:
            log.debug("the Bot API answered with something that is not JSON: %.200r", text)
            raise TelegramError("Invalid server response") from exc


def certainly_not_carried_out(error: BaseException) -> bool:
    """Telegram answered with a server error, or the request never left this machine."""
    if isinstance(error, BadRequest) or not isinstance(error, NetworkError):
        return False
    cause = error.__cause__
    if isinstance(error, TimedOut):
        return isinstance(cause, _NOT_SENT_CAUSES)
    # PTB raises NetworkError for an HTTP error status with no cause (or, when the body is not
    # JSON, with the parsing error as cause), and from the httpx error for transport failures.
    return cause is None or isinstance(cause, (TelegramError, *_NOT_SENT_CAUSES))


def may_have_been_carried_out(error: BaseException) -> bool:
    """The request went out and its answer was lost: a timeout or a dropped connection."""
    if isinstance(error, BadRequest) or not isinstance(error, NetworkError):
        return False
    return not certainly_not_carried_out(error)


def worth_retrying(endpoint: str, error: BaseException) -> bool:
    if certainly_not_carried_out(error):
        return True
    return may_have_been_carried_out(error) and endpoint not in CREATES_MESSAGE


def describe(error: BaseException) -> str:
    """The error in a few words: PTB appends a proxy's whole HTML page to a 502's text."""
    return str(error).split(". Parsing the server response")[0]


def backoff(attempt: int, base: float = BACKOFF_SECONDS) -> float:
    """Jittered exponential backoff: between half and all of base * 2**attempt."""
    full = base * 2**attempt
    return random.uniform(full / 2, full)


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


@contextlib.contextmanager
def outbox_delivery() -> Iterator[None]:
    """Calls made inside are the outbox dispatcher's: it retries them on its own schedule."""
    token = _outbox_delivery.set(True)
    try:
        yield
    finally:
        _outbox_delivery.reset(token)


def outbox_senders(
    senders: Mapping[str, Callable[[T], Awaitable[R]]],
) -> dict[str, Callable[[T], Awaitable[R]]]:
    """The outbox's senders, each marked so that this layer does not retry what it sends."""

    def marked(sender: Callable[[T], Awaitable[R]]) -> Callable[[T], Awaitable[R]]:
        async def send(message: T) -> R:
            with outbox_delivery():
                return await sender(message)

        return send

    return {kind: marked(sender) for kind, sender in senders.items()}


def smooth_pace(per_second: float) -> tuple[float, float]:
    """(messages, per seconds) for the overall limiter: the same rate, in bursts of at most
    PACE_BURST. PTB's default shape (30 at once, then 30 a second) sends exactly at Telegram's
    own bucket's edge, so the least jitter on the way earns a 429 (one in 1,500 at 30/s,
    bench/notify_bench.py); small bursts keep Telegram's bucket nearly full, and the bot can pace
    at the limit itself instead of below it."""
    if per_second <= 0:
        return 0, 1
    burst = min(PACE_BURST, per_second)
    return burst, burst / per_second


class BotApiLimiter(AIORateLimiter):
    """PTB's AIORateLimiter with the retry rules of this module's docstring."""

    def __init__(
        self,
        *,
        overall_max_rate: float,
        group_max_rate: float | None = None,
        transient_retries: int = TRANSIENT_RETRIES,
        backoff_seconds: float = BACKOFF_SECONDS,
        shared: SharedPace | None = None,
    ) -> None:
        burst, period = smooth_pace(overall_max_rate)
        # Several workers on PostgreSQL: the pace lives in the database, shared by all of them
        # (bot/app/shared_pace.py); this limiter's own buckets then serve only as its fallback.
        self._shared = shared
        if group_max_rate is None:
            super().__init__(
                overall_max_rate=burst, overall_time_period=period, max_retries=MAX_RETRY_AFTER
            )
        else:
            super().__init__(
                overall_max_rate=burst,
                overall_time_period=period,
                group_max_rate=group_max_rate,
                max_retries=MAX_RETRY_AFTER,
            )
        self._transient_retries = transient_retries
        self._backoff_seconds = backoff_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat, group = _pacing_of(endpoint, data)
        paid = bool(data.get("allow_paid_broadcast", False))
        transient_retries = 0 if _outbox_delivery.get() else self._transient_retries
        limited = failed = 0
        while True:
            local_chat, local_group = chat, group
            shared = self._shared if chat else None
            if shared is not None and await shared.wait_turn(group, paid):
                local_chat, local_group = False, False
            try:
                return await self._run_request(
                    chat=local_chat,
                    group=local_group,
                    allow_paid_broadcast=paid,
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as error:
                if limited >= (rate_limit_args or self._max_retries):
                    log.warning("%s: still 429 after %d waits, giving up", endpoint, limited)
                    raise
                limited += 1
                wait = retry_after_seconds(error)
                log.info("%s: 429, waiting %g s as Telegram asks", endpoint, wait)
                if _private_chat(data):
                    # Our own pacing keeps the bot under Telegram's overall rate, so a 429 on
                    # a person's chat is that chat's limit (about a message a second): only this
                    # call waits. Holding everyone back let one account that made the bot answer
                    # it quickly slow everybody's replies (bench/flood_bench.py).
                    await asyncio.sleep(wait)
                    continue
                if self._shared is not None and chat:
                    await self._shared.hold_back(group, wait)
                self._retry_after_event.clear()  # hold back the other calls meanwhile
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._retry_after_event.set()
            except TelegramError as error:
                if failed >= transient_retries or not worth_retrying(endpoint, error):
                    raise
                delay = backoff(failed, self._backoff_seconds)
                failed += 1
                log.info("%s failed (%s); trying again in %.2f s", endpoint, describe(error), delay)
                await asyncio.sleep(delay)


def _private_chat(data: dict[str, Any]) -> bool:
    """Whether the call is addressed to one person's private chat (a positive chat id)."""
    try:
        return int(data.get("chat_id")) > 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def is_paced(endpoint: str) -> bool:
    """Whether Telegram's flood limits (30 messages a second, 20 a minute per group) apply:
    to calls that put or change a message in a chat, not to reads (getChatMember, getChat,
    getFile, ...) or answers to a press, which merely name a chat."""
    return endpoint.startswith(PACED_PREFIXES)


def _pacing_of(endpoint: str, data: dict[str, Any]) -> tuple[bool, int | str | bool]:
    """(counts against the overall rate, the group whose rate it counts against). PTB's
    AIORateLimiter decides by the chat_id alone, which paced every getChatMember on the staff
    group like a message to it (one every 3 s); here only what Telegram limits is paced."""
    if not is_paced(endpoint):
        return False, False
    chat_id = data.get("chat_id")
    group: int | str | bool = False
    with contextlib.suppress(ValueError, TypeError):
        chat_id = int(chat_id)  # type: ignore[arg-type]
    if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
        group = chat_id
    return chat_id is not None, group
