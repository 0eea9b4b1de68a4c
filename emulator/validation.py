"""Telegram's checks on what the bot sends: text, captions, parse modes and keyboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.errors import bad_request
from emulator.htmltext import HtmlParseError, parse_html, utf16_len

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
# tdlib trims these from both ends of every message after parsing the markup.
_TRIMMED = " \t\n\r\v\f"
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)


@dataclass
class FormattedText:
    """A text or caption as sent (raw) and as the user reads it (text + entities)."""

    raw: str
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None


def normalize_parse_mode(parse_mode: str | None) -> str | None:
    if not parse_mode:
        return None
    lowered = parse_mode.lower()
    if lowered in ("html", "markdown", "markdownv2"):
        return {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}[lowered]
    raise bad_request(f'unsupported parse_mode "{parse_mode}"')


def format_text(
    raw: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
    *,
    strict_ampersand: bool = True,
) -> FormattedText:
    """Parse the markup (HTML is parsed; Markdown modes pass through unparsed) and trim."""
    mode = normalize_parse_mode(parse_mode)
    if mode == "HTML":
        try:
            text, parsed = parse_html(raw, strict_ampersand=strict_ampersand)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    else:
        text, parsed = raw, [dict(e) for e in entities or [] if isinstance(e, dict)]
    return _trim(FormattedText(raw=raw, text=text, entities=parsed, parse_mode=mode))


def _trim(formatted: FormattedText) -> FormattedText:
    """Strip surrounding whitespace the way Telegram does, moving entity offsets along."""
    text = formatted.text
    lead = len(text) - len(text.lstrip(_TRIMMED))
    stripped = text.strip(_TRIMMED)
    if lead == 0 and stripped == text:
        return formatted
    length = utf16_len(stripped)
    kept = []
    for entity in formatted.entities:
        start = max(0, entity["offset"] - lead)
        end = min(length, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    formatted.text = stripped
    formatted.entities = kept
    return formatted


def check_message_text(
    raw: str | None,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
    *,
    strict_ampersand: bool = True,
) -> FormattedText:
    if not raw:
        raise bad_request("message text is empty")
    formatted = format_text(raw, parse_mode, entities, strict_ampersand=strict_ampersand)
    if not formatted.text:
        raise bad_request("message text is empty")
    if utf16_len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return formatted


def check_caption(
    raw: str | None,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
    *,
    strict_ampersand: bool = True,
) -> FormattedText | None:
    if not raw:
        return None
    formatted = format_text(raw, parse_mode, entities, strict_ampersand=strict_ampersand)
    if utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return formatted if formatted.text else None


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a reply_markup object; returns it unchanged (the shape the bot sent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
            )
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else None
            if isinstance(button, dict):
                text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )


def check_callback_answer_text(text: str | None) -> None:
    if text and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
