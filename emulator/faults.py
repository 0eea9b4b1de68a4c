"""Injected network trouble: gateway errors, slow answers and dropped connections."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# "drop" closes the connection before the call is carried out; "drop_after" carries it out
# first (the message is sent but the bot never hears so), the case that tempts bots to send twice.
FAULT_KINDS = frozenset({"5xx", "slow", "drop", "drop_after"})


@dataclass
class FaultPlan:
    """Which share of which calls go wrong, and how; seeded so a failing run can be replayed.

    methods=None means every method except getUpdates (long polling would otherwise make most
    tests flaky); name getUpdates explicitly to disturb polling too. `limit` caps how many faults
    are injected in all, which makes "the first sendMessage fails, the retry works" exact.
    """

    rate: float = 0.0
    kinds: set[str] = field(default_factory=set)
    methods: set[str] | None = None
    seed: int | None = None
    slow_seconds: float = 2.0
    limit: int | None = None
    injected: int = field(default=0, init=False)
    _rng: random.Random = field(
        default_factory=random.Random, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._check()
        self._rng = random.Random(self.seed)

    def _check(self) -> None:
        unknown = set(self.kinds) - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")

    def set(
        self,
        *,
        rate: float,
        kinds: set[str],
        methods: set[str] | None = None,
        seed: int | None = None,
        slow_seconds: float = 2.0,
        limit: int | None = None,
    ) -> FaultPlan:
        """Replace the whole plan; what is not given goes back to its default."""
        self.rate = rate
        self.kinds = set(kinds)
        self.methods = set(methods) if methods is not None else None
        self.seed = seed
        self.slow_seconds = slow_seconds
        self.limit = limit
        self.injected = 0
        self._rng = random.Random(seed)
        self._check()
        return self

    def clear(self) -> None:
        self.rate = 0.0
        self.kinds = set()
        self.methods = None
        self.limit = None
        self.injected = 0

    def pick(self, method: str) -> str | None:
        """The fault to inject into this call, if any."""
        if self.rate <= 0 or not self.kinds:
            return None
        if self.limit is not None and self.injected >= self.limit:
            return None
        if self.methods is None:
            if method == "getUpdates":
                return None
        elif method not in self.methods:
            return None
        if self._rng.random() >= self.rate:
            return None
        self.injected += 1
        return self._rng.choice(sorted(self.kinds))

    def gateway_body(self) -> tuple[str, str]:
        """A 502 body: (content type, text); sometimes nginx's HTML page, sometimes JSON."""
        if self._rng.random() < 0.5:
            return (
                "text/html",
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
                "</body>\r\n</html>\r\n",
            )
        return (
            "application/json",
            '{"ok":false,"error_code":502,"description":"Bad Gateway"}',
        )
