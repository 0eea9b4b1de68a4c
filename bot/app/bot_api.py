"""How the bot's requests reach the Bot API: the HTTP client, pacing and retries."""

from __future__ import annotations

import json
import logging

from telegram._utils.types import JSONDict
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


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
