"""Photo checks and metadata removal: nothing leaves the bot with EXIF (GPS included) in it.

Images are recognised by their content, never by their file name or declared type, and re-encoded
from pixels only, which drops EXIF, XMP, comments and text chunks.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 10 MB file can decompress to gigabytes; refuse such bombs
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class NotAnAcceptedImage(ValueError):
    """The bytes are not a JPEG, PNG or WebP image we can read."""


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    mime_type: str
    width: int
    height: int
    sha256: str


def clean_image(data: bytes) -> CleanImage:
    """Return the image re-encoded without metadata, upright as the camera meant it."""
    if len(data) > MAX_PHOTO_BYTES:
        raise NotAnAcceptedImage("larger than 10 MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise NotAnAcceptedImage(f"format {fmt or 'unknown'}")
            if image.width * image.height > MAX_PIXELS:
                raise NotAnAcceptedImage("too many pixels")
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise NotAnAcceptedImage(str(exc)) from None
    except Image.DecompressionBombWarning as exc:
        raise NotAnAcceptedImage(str(exc)) from None
    # Apply the EXIF orientation before dropping EXIF, or portrait photos would lie on their side.
    upright = ImageOps.exif_transpose(image) or image
    out = io.BytesIO()
    if fmt == "JPEG":
        upright.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        upright.save(out, format="PNG", optimize=True)
    else:
        upright.save(out, format="WEBP", quality=88)
    content = out.getvalue()
    return CleanImage(
        content=content,
        mime_type=ACCEPTED_FORMATS[fmt],
        width=upright.width,
        height=upright.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )
