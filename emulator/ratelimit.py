"""Telegram-like flood limits: token buckets per chat and per bot, checked together.

Telegram documents roughly one message per second per chat (short bursts allowed), about 30
messages per second overall and 20 per minute per group. A refused call consumes nothing and
gets a retry_after long enough for every bucket involved to hold one token again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# Methods that put something into a chat and so count against the limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendVoice",
        "sendContact",
        "sendSticker",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)


@dataclass
class EmulatorLimits:
    """The limits in force; mutable at run time (the buckets read them on every call)."""

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    global_per_second: float = 30.0
    global_burst: int = 30
    group_per_minute: float = 20.0
    # Paid broadcasts (allow_paid_broadcast): up to 1,000 messages a second instead of 30, for
    # 0.1 Telegram Star each; the per-chat limits still hold.
    paid_per_second: float = 1000.0
    enabled: bool = True


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Buckets keyed by (bot, chat) plus one global bucket per bot."""

    def __init__(self, limits: EmulatorLimits, clock: Callable[[], float]):
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[int, int | str | None], _Bucket] = {}
        # Paid broadcasts Telegram accepted, per bot (each costs the bot 0.1 Star).
        self.paid_messages: dict[int, int] = {}

    def reset(self) -> None:
        self._buckets.clear()
        self.paid_messages.clear()

    def _refill(
        self, key: tuple[int, int | str | None], rate: float, burst: float, now: float
    ) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=burst, updated=now)
        elif rate > 0:
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        else:
            bucket.updated = now
        bucket.tokens = min(bucket.tokens, burst)
        return bucket

    def acquire(
        self, bot_id: int, chat_id: int, *, is_group: bool, paid: bool = False
    ) -> int | None:
        """Take one token from the chat and the global bucket (the paid one for a paid
        broadcast); or return retry_after seconds."""
        limits = self.limits
        if paid:
            self.paid_messages[bot_id] = self.paid_messages.get(bot_id, 0) + 1
        if not limits.enabled:
            return None
        now = self.clock()
        if is_group:
            chat_rate, chat_burst = (
                limits.group_per_minute / 60.0,
                max(1.0, limits.group_per_minute),
            )
        else:
            chat_rate, chat_burst = limits.per_chat_per_second, max(1.0, limits.per_chat_burst)
        global_rate, global_burst = limits.global_per_second, max(1.0, limits.global_burst)
        overall_key: int | str | None = None
        if paid:
            global_rate = global_burst = limits.paid_per_second
            overall_key = "paid"
        chat = self._refill((bot_id, chat_id), chat_rate, chat_burst, now)
        overall = self._refill((bot_id, overall_key), global_rate, global_burst, now)
        wait = max(_wait_for_token(chat, chat_rate), _wait_for_token(overall, global_rate))
        if wait > 0:
            if paid:
                self.paid_messages[bot_id] -= 1  # refused: not charged
            return max(1, math.ceil(wait))
        chat.tokens -= 1
        overall.tokens -= 1
        return None


def _wait_for_token(bucket: _Bucket, rate: float) -> float:
    if bucket.tokens >= 1:
        return 0.0
    if rate <= 0:
        return 3600.0  # a zero rate never refills; make the client wait "forever"
    return (1 - bucket.tokens) / rate
