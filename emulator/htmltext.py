"""Telegram's HTML parse mode: a port of tdlib's parse_html (td/telegram/MessageEntity.cpp).

It produces the plain text and the message entities (offsets in UTF-16 code units) and raises
with tdlib's own wording for malformed markup, so the bot sees the same "can't parse entities"
descriptions it would get from Telegram.

One deliberate difference: tdlib keeps a bare "&" that starts no known entity as a literal
character. With strict_ampersand (the default) the emulator rejects it instead, because text that
is not escaped with html.escape() is a bug waiting for the day a user types "&lt;".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_TYPES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\0\v\f"
_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)
_LINK_SCHEMES = ("http://", "https://", "tg://", "ton://", "tonsite://")


class HtmlParseError(ValueError):
    """Malformed markup; str(error) is the part after "can't parse entities: "."""


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    out_index: int


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting with "&" at pos: (character, next position)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    if at(end) == "#":
        end += 1
        code = 0
        if at(end) == "x":
            end += 1
            while at(end) in "0123456789abcdefABCDEF" and at(end) != "\0":
                code = code * 16 + int(at(end), 16)
                end += 1
        else:
            while "0" <= at(end) <= "9":
                code = code * 10 + int(at(end))
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if at(end) == ";":
        end += 1
    return char, end


def _checked_link(url: str) -> str | None:
    """Roughly LinkManager::get_checked_link: keep web/tg links, drop anything else."""
    url = url.strip()
    if not url or any(ch in url for ch in " \n\t"):
        return None
    lowered = url.lower()
    if not lowered.startswith(_LINK_SCHEMES):
        if "://" in url or lowered.startswith(("javascript:", "data:", "mailto:")):
            return None
        if not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?([/?#].*)?$", lowered):
            return None
        url = "http://" + url
    if url.lower().startswith(("http://", "https://")):
        # Like Telegram, give a bare host a "/" path: telegram.org -> http://telegram.org/
        scheme, rest = url.split("://", 1)
        host_end = min((rest.find(ch) for ch in "/?#" if ch in rest), default=len(rest))
        if host_end == len(rest) or rest[host_end] != "/":
            url = f"{scheme}://{rest[:host_end]}/{rest[host_end:]}"
    return url


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) or raise HtmlParseError with tdlib's description."""
    n = len(text)
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    utf16 = 0

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def byte_offset(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    def is_space(ch: str) -> bool:
        return ch in _SPACES

    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                char, i = decoded
                out.append(char)
                utf16 += 2 if ord(char) > 0xFFFF else 1
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" must be escaped as "&amp;" at byte offset {byte_offset(i)}'
                )
        if ch != "<":
            out.append(ch)
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # A start tag: its name runs to the first space or ">".
            while not is_space(at(i)) and at(i) != ">":
                i += 1
            if at(i) == "\0":
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in SUPPORTED_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            argument, i = _parse_attributes(text, i, tag, begin, byte_offset)
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append(_OpenTag(tag, argument, utf16, len(out)))
            i += 1  # past ">"
            continue

        # An end tag.
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        while not is_space(at(i)) and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while is_space(at(i)) and at(i) != "\0":
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        top = stack[-1]
        if end_tag and end_tag != top.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                f'expected "</{top.name}>", found "</{end_tag}>"'
            )
        if utf16 > top.utf16_offset:
            _close_entity(top, utf16, out, entities)
        stack.pop()
        i += 1

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    plain = "".join(out)
    try:
        plain.encode("utf-8")
    except UnicodeEncodeError:
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        ) from None
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


def _parse_attributes(text: str, i: int, tag: str, begin: int, byte_offset: Any) -> tuple[str, int]:
    """Read the attributes of a start tag from i; return (tag argument, index of ">")."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def is_space(ch: str) -> bool:
        return ch in _SPACES

    argument = ""
    while at(i) != ">":
        while at(i) != "\0" and is_space(at(i)):
            i += 1
        if at(i) == ">":
            break
        attr_begin = i
        while not is_space(at(i)) and at(i) not in "=>":
            i += 1
        attr_name = text[attr_begin:i]
        if not attr_name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
            )
        while at(i) != "\0" and is_space(at(i)):
            i += 1
        if at(i) != "=":
            if tag == "blockquote" and attr_name.lower() == "expandable":
                argument = "expandable"
                if at(i) == "\0":
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {byte_offset(begin)}'
            )
        i += 1
        while at(i) != "\0" and is_space(at(i)):
            i += 1
        if at(i) == "\0":
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
        if at(i) not in "'\"":
            # A name token: letters, digits, periods or hyphens; not case sensitive.
            token_begin = i
            while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
                i += 1
            value = text[token_begin:i].lower()
            if not is_space(at(i)) and at(i) != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                )
        else:
            quote = at(i)
            i += 1
            chars: list[str] = []
            while at(i) != quote and at(i) != "\0":
                if at(i) == "&":
                    decoded = _decode_entity(text, i)
                    if decoded is not None:
                        chars.append(decoded[0])
                        i = decoded[1]
                        continue
                chars.append(at(i))
                i += 1
            if at(i) == quote:
                i += 1
            value = "".join(chars)
        if at(i) == "\0":
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = attr_name.lower()
        if (
            (tag == "a" and name == "href")
            or (tag == "tg-emoji" and name == "emoji-id")
            or (tag == "span" and name == "class" and value.startswith("tg-"))
            or (tag == "code" and name == "class" and value.startswith("language-"))
        ):
            argument = value
            if tag == "span":
                argument = value[3:]
            elif tag == "code":
                argument = value[len("language-") :]
    return argument, i


def _close_entity(
    top: _OpenTag, utf16: int, out: list[str], entities: list[dict[str, Any]]
) -> None:
    offset, length = top.utf16_offset, utf16 - top.utf16_offset
    tag = top.name
    if tag in _SIMPLE_TAG_TYPES:
        entities.append({"type": _SIMPLE_TAG_TYPES[tag], "offset": offset, "length": length})
    elif tag == "span":
        entities.append({"type": "spoiler", "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": top.argument,
            }
        )
    elif tag == "a":
        url = top.argument or "".join(out[top.out_index :])
        user_link = _USER_LINK.match(url.strip())
        if user_link:
            user = {"id": int(user_link.group(1)), "is_bot": False, "first_name": ""}
            entities.append(
                {"type": "text_mention", "offset": offset, "length": length, "user": user}
            )
        else:
            checked = _checked_link(url)
            if checked:
                entities.append(
                    {"type": "text_link", "offset": offset, "length": length, "url": checked}
                )
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
            and top.argument
        ):
            last["language"] = top.argument
        else:
            entity: dict[str, Any] = {"type": "code", "offset": offset, "length": length}
            if top.argument:
                entity["language"] = top.argument
            entities.append(entity)
    elif tag == "blockquote":
        kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
