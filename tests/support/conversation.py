"""Reading the bot's side of a conversation the way a person scans their chat."""

from __future__ import annotations

import asyncio
import io
import re

from PIL import Image

from emulator import BotMessage, SimulatedGroup, SimulatedUser

REFERENCE = re.compile(r"CW-[2-9A-HJ-NP-Z]{6}")


def text_of(message: BotMessage) -> str:
    return message.text or message.caption or ""


async def expect(user: SimulatedUser, *fragments: str, timeout: float = 10.0) -> BotMessage:
    """The next bot message containing every fragment; messages in between are passed over."""
    seen: list[str] = []
    while True:
        try:
            message = await user.next_message(timeout=timeout)
        except TimeoutError as error:
            raise AssertionError(f"no message with {fragments!r}; saw: {seen!r}") from error
        text = text_of(message)
        if all(fragment in text for fragment in fragments):
            return message
        seen.append(text)


async def once_it_holds(
    chat: SimulatedUser | SimulatedGroup,
    *fragments: str,
    message_id: int | None = None,
    seconds: float = 15.0,
) -> BotMessage:
    """A message as it stands in the chat once it holds every fragment (an edit that
    comes from the outbox may arrive before or after a direct reply; this reads either way)."""
    for _ in range(int(seconds / 0.02)):
        for live in chat.messages:
            if message_id is not None and live.message_id != message_id:
                continue
            if all(fragment in text_of(live) for fragment in fragments):
                return live
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message in {chat!r} ever held {fragments!r}")


def reference_in(message: BotMessage) -> str:
    found = REFERENCE.search(text_of(message))
    assert found, f"no reference in {text_of(message)!r}"
    return found.group(0)


def jpeg_with_gps(
    color: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (64, 48)
) -> bytes:
    """A real JPEG whose EXIF holds a camera model and a GPS position."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model 7"  # Model
    exif[0x8825] = {1: "N", 2: (10.0, 34.0, 12.0), 3: "E", 4: (7.0, 26.0, 30.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825) is not None
    return data


def png_image(color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def has_metadata(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif()) or bool(image.info.get("exif")) or bool(image.info.get("xmp"))
