"""The table of Bot API methods the emulator implements, and the context each call gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from emulator.params import Params
from emulator.state import BotAccount, EmulatorState


@dataclass
class CallContext:
    state: EmulatorState
    bot: BotAccount
    params: Params
    method: str


Handler = Callable[[CallContext], Awaitable[Any]]

METHODS: dict[str, Handler] = {}
# Telegram matches method names case-insensitively.
_CANONICAL: dict[str, str] = {}


def api_method(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            METHODS[name] = handler
            _CANONICAL[name.lower()] = name
        return handler

    return register


def resolve_method(name: str) -> str | None:
    return _CANONICAL.get(name.lower())
