"""The flood limit: FLOOD_MESSAGES_PER_MINUTE messages and button presses a minute per account,
then one polite "please slow down" and FLOOD_COOLDOWN_SECONDS in which the account is ignored.

Checked in the update processor (bot/app/update_processor.py) as an update arrives, before it
waits for its sender's turn, before any handler and any query: a dropped update costs a dict
lookup and a little arithmetic, takes no slot, no lock, no database row and no Bot API call.

- Each account has a token bucket of FLOOD_MESSAGES_PER_MINUTE, refilled at that many a minute: a
  person may send a burst (an album, quick answers), a flood runs dry. Messages and button presses
  count; other updates from the account (edits of a live location, membership changes) do not,
  but are dropped in the cool-down too.
- The update that finds the bucket empty is the one answered (handlers/flood.py: "please slow
  down", in the citizen's language); every later update from that account is dropped unanswered
  until the cool-down ends, then the account starts again with a full bucket. So are the
  account's updates admitted earlier but still waiting for their turn behind its lock: they are
  the same flood, and answering each would have the bot send a burst into one chat, which
  Telegram answers with 429s that hold back the bot's messages to everyone (bot/app/bot_api.py).
- Button presses in the cool-down are dropped too, without answering them. Answering would cost
  one Bot API call per press, which is what a flood of forged presses wants from us; unanswered,
  the button's spinner stops by itself after a few seconds (Telegram's client gives up), and the
  person was told why a moment before.
- The staff group (MODERATOR_CHAT_ID) is not limited: a moderator clearing the queue presses
  more than 30 buttons a minute, and an outsider's presses on a card there are already refused
  from memory (bot/roles/moderators.py). A moderator's private chat is limited like anyone's.

The counts live in this process's memory: a restart forgets them, and with several workers each
counts the updates it receives (behind HAProxy an account's updates may spread over workers, so
the limit is per worker). Memory is bounded: accounts idle long enough to be back at a full bucket
are evicted whenever the table passes MAX_SENDERS (and grows again only by doubling), so memory
follows the accounts active in the last minute or so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

MAX_SENDERS = 10_000


class Verdict(Enum):
    PASS = "pass"  # handle it
    SLOW_DOWN = "slow_down"  # the first update over the limit: answer "please slow down" only
    DROP = "drop"  # in the cool-down: no answer, no work


@dataclass
class _Sender:
    tokens: float
    at: float  # when `tokens` was counted
    quiet_until: float = 0.0  # the cool-down's end; 0 when there is none
    slow_down_update: int | None = None  # the update to answer with "please slow down"


class FloodGate:
    def __init__(
        self, per_minute: int, cooldown_seconds: float, clock: Callable[[], float]
    ) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0  # tokens a second
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._senders: dict[int, _Sender] = {}
        self._sweep_at = MAX_SENDERS

    def admit(self, sender_id: int, update_id: int, *, counts: bool = True) -> Verdict:
        now = self._clock()
        sender = self._senders.get(sender_id)
        if sender is None:
            if not counts:
                return Verdict.PASS
            if len(self._senders) >= self._sweep_at:
                self._sweep(now)
            sender = self._senders[sender_id] = _Sender(self._capacity, now)
        elif sender.quiet_until:
            if now < sender.quiet_until:
                return Verdict.DROP
            sender.tokens, sender.at, sender.quiet_until = self._capacity, now, 0.0
            sender.slow_down_update = None
        if not counts:
            return Verdict.PASS
        sender.tokens = min(self._capacity, sender.tokens + (now - sender.at) * self._rate)
        sender.at = now
        if sender.tokens >= 1.0:
            sender.tokens -= 1.0
            return Verdict.PASS
        sender.quiet_until = now + self._cooldown
        sender.slow_down_update = update_id
        return Verdict.SLOW_DOWN

    def cooling_down(self, sender_id: int, update_id: int) -> bool:
        """Whether the sender is in a cool-down that this update is not the answered one of."""
        sender = self._senders.get(sender_id)
        if sender is None or not sender.quiet_until or self._clock() >= sender.quiet_until:
            return False
        return sender.slow_down_update != update_id

    def is_slow_down(self, sender_id: int, update_id: int) -> bool:
        """Whether this update is the one to answer with "please slow down"."""
        sender = self._senders.get(sender_id)
        return sender is not None and sender.slow_down_update == update_id

    def _sweep(self, now: float) -> None:
        """Forget accounts whose bucket has refilled and that are not cooling down."""
        full_after = self._capacity / self._rate if self._rate else 0.0
        self._senders = {
            key: s
            for key, s in self._senders.items()
            if s.quiet_until > now or (now - s.at) < full_after
        }
        # Sweep again when the table has doubled: amortised O(1) per update even when every
        # account is active.
        self._sweep_at = max(MAX_SENDERS, 2 * len(self._senders))

    def __len__(self) -> int:
        return len(self._senders)
