"""Photo checks and metadata removal: what leaves the bot is the picture's pixels and nothing else.

Images are recognised by their content, never by their file name or declared type. The cleaned copy
is a new image built from the decoded pixels alone, turned upright (EXIF orientation) and converted to
sRGB (embedded ICC profile) first, then encoded with explicit options. So nothing of the original file
can ride along: no EXIF (GPS, camera, artist), XMP, IPTC/Photoshop, ICC profile, JPEG comment or APPn
segment, PNG text or eXIf chunk, second frame or thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import warnings
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 10 MB file can decompress to gigabytes; refuse such bombs
# Pillow's name for each format we read -> what we write it as. MPO is a phone's JPEG with a second
# picture (depth map, preview) appended: its first picture is the photo.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# What decoding hostile bytes can raise, besides Pillow's own refusals.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    ValueError,
    TypeError,
    EOFError,
    SyntaxError,
    IndexError,
    KeyError,
    struct.error,
    ZeroDivisionError,
)


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
    """Return the picture as pixels only, upright and in sRGB, in the format it came in."""
    if len(data) > MAX_PHOTO_BYTES:
        raise NotAnAcceptedImage("larger than 10 MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = ACCEPTED_FORMATS.get(image.format or "")
            if fmt is None:
                raise NotAnAcceptedImage(f"format {image.format or 'unknown'}")
            if image.width * image.height > MAX_PIXELS:
                raise NotAnAcceptedImage("too many pixels")
            image.load()
            pixels = _upright_srgb(image, alpha=fmt != "JPEG" and image.has_transparency_data)
    except NotAnAcceptedImage:
        raise
    except _DECODE_ERRORS as exc:
        log.debug("not a readable image: %s", exc)
        raise NotAnAcceptedImage(str(exc) or type(exc).__name__) from None
    # A new image from the pixel values alone: its info is empty, whatever the file held.
    fresh = Image.new(pixels.mode, pixels.size)
    fresh.paste(pixels)
    content = _encode(fresh, fmt)
    return CleanImage(
        content=content,
        mime_type=MIME_TYPES[fmt],
        width=fresh.width,
        height=fresh.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _upright_srgb(image: Image.Image, *, alpha: bool) -> Image.Image:
    """The first picture's pixels in RGB (or RGBA), turned as the camera meant and in sRGB."""
    profile = image.info.get("icc_profile")
    # Apply the EXIF orientation before dropping EXIF, or portrait photos would lie on their side.
    upright = ImageOps.exif_transpose(image)
    if upright.mode.startswith(
        "I"
    ):  # 16-bit grey: scale to 8 bits (a plain convert clips to white)
        upright = upright.convert("I").point(lambda value: value / 256).convert("L")
    mode = "RGBA" if alpha else "RGB"
    if profile:
        converted = _to_srgb(upright, profile, mode)
        if converted is not None:
            return converted
    return upright if upright.mode == mode else upright.convert(mode)


def _to_srgb(image: Image.Image, profile: bytes, mode: str) -> Image.Image | None:
    """The pixels converted from the embedded profile to sRGB, or None if the profile cannot be
    used (broken, or of another colour space than the pixels): then they are taken as sRGB."""
    keep = ("RGBA",) if mode == "RGBA" else ("RGB", "L", "CMYK")  # modes profiles are made for
    source = image if image.mode in keep else image.convert(mode)
    try:
        embedded = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(source, embedded, _srgb(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.debug("colour profile not applied: %s", exc)
        return None
    assert converted is not None  # profileToProfile returns None only with inPlace=True
    return converted


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Encode with every metadata option stated empty, so no default can bring any back."""
    out = io.BytesIO()
    none: dict[str, object] = {"exif": b"", "icc_profile": None, "xmp": b""}
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=88, optimize=True, comment=b"", **none)
    elif fmt == "PNG":
        image.save(out, format="PNG", optimize=True, pnginfo=None, **none)
    else:
        image.save(out, format="WEBP", quality=88, **none)
    return out.getvalue()
