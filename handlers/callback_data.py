"""Inline button payloads: short, versioned, and parsed defensively (anyone can forge them).

Draft buttons look like "d:<version>:<action>[:<argument>]"; the version ties a button to the
draft it was drawn for. Telegram allows at most 64 bytes.
"""

from __future__ import annotations

from bot.channels.buttons import ButtonData, decode, encode


class DraftButton(ButtonData):
    @property
    def version(self) -> int:
        """The draft version the button was drawn for."""
        return self.key


def draft_button(version: int, action: str, argument: str | int = "") -> str:
    return encode("d", version, action, argument)


def parse_draft_button(data: str) -> DraftButton | None:
    return decode("d", data, DraftButton)


def int_argument(button: DraftButton) -> int | None:
    return int(button.argument) if button.argument.isdigit() else None


def consent_data(commitment_id: int | None, language: str | None = None) -> str:
    """The privacy notice's "I agree": "consent:<commitment id or 0>[:<language chosen>]"."""
    return f"consent:{commitment_id or 0}" + (f":{language}" if language else "")


def parse_consent(data: str) -> tuple[int | None, str | None]:
    """(commitment id, language chosen with /language before agreeing); None where absent."""
    _prefix, _sep, rest = data.partition(":")
    argument, _sep, language = rest.partition(":")
    commitment_id = int(argument) if argument.isdigit() and int(argument) > 0 else None
    return commitment_id, (language or None)


def language_menu_data(commitment_id: int | None = None) -> str:
    """Open the language keyboard (from the privacy notice, keeping its deep-linked commitment)."""
    return f"langs:{commitment_id or 0}"


def language_data(language: str, commitment_id: int | None = None) -> str:
    """Choose a language: "lang:<code>:<commitment id or 0>"."""
    return f"lang:{language}:{commitment_id or 0}"


def parse_language(data: str) -> tuple[str | None, int | None]:
    """(language code or None for the menu, commitment id or None) from either payload above."""
    prefix, _sep, rest = data.partition(":")
    if prefix == "langs":
        return None, int(rest) if rest.isdigit() and int(rest) > 0 else None
    language, _sep, argument = rest.partition(":")
    commitment_id = int(argument) if argument.isdigit() and int(argument) > 0 else None
    return (language or None), commitment_id
