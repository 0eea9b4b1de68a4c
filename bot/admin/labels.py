"""QR labels for signboards: the commitment's deep link as a QR code, its code and short title
underneath, then a line for passers-by ("Scan to report on this commitment", in the label's
language), as PNG (Pillow) and SVG (text the viewer renders).

Titles can be long and in any script. Pillow's built-in font covers ASCII only, so a system font
with wide coverage (DejaVu Sans, Noto Sans, ...) is used when one is found; without one, letters
the built-in font lacks are simplified (accents dropped) or replaced, and a warning says so.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

QR_PIXELS = 480  # the QR code's width in the PNG, about
QUIET_ZONE = 4  # modules of white around the code, as the standard asks
MARGIN = 24
CODE_SIZE = 34
TITLE_SIZE = 24
MAX_TITLE_LINES = 3
CAPTION_SIZE = 20
MAX_CAPTION_LINES = 2
LINE_SPACING = 1.25
ELLIPSIS = "…"

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/google-noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
SVG_FONTS = "'DejaVu Sans', 'Noto Sans', Arial, sans-serif"

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class FontChoice:
    path: str | None  # None: Pillow's built-in font (ASCII only)

    def font(self, size: int) -> FontType:
        return _load(self.path, size)

    @property
    def unicode(self) -> bool:
        return self.path is not None


@lru_cache(maxsize=32)
def _load(path: str | None, size: int) -> FontType:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size)


def find_font(explicit: Path | None = None) -> FontChoice:
    """The font given, else a known system font, else what fontconfig suggests, else built-in."""
    if explicit is not None:
        try:
            ImageFont.truetype(str(explicit), size=12)
        except OSError:
            raise ValueError(
                f"--font: cannot load {explicit} as a TrueType/OpenType font"
            ) from None
        return FontChoice(str(explicit))
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return FontChoice(candidate)
    found = _fontconfig_sans()
    return FontChoice(found)


def _fontconfig_sans() -> str | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", "sans-serif"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.lower().endswith((".ttf", ".otf", ".ttc")) and Path(out).is_file() else None


def ascii_fallback(text: str) -> str:
    """For the built-in font: drop accents (é -> e) and show anything else as '?'."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch if ch.isascii() else "?" for ch in kept)


def wrap(text: str, font: FontType, width: float, max_lines: int) -> list[str]:
    """Lines no wider than `width`, words longer than a line cut; when text is left out, the
    last line kept ends with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(current) > 1 and font.getlength(current) > width:
            cut = _fit(current, font, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        return _truncate(lines[:max_lines], font, width)
    return lines


def _fit(text: str, font: FontType, width: float) -> int:
    """How many leading characters fit in `width` (at least one)."""
    cut = 1
    while cut < len(text) and font.getlength(text[: cut + 1]) <= width:
        cut += 1
    return cut


def _truncate(lines: list[str], font: FontType, width: float) -> list[str]:
    last = lines[-1]
    while last and font.getlength(last + ELLIPSIS) > width:
        last = last[:-1]
    return [*lines[:-1], last.rstrip() + ELLIPSIS]


@dataclass(frozen=True)
class Label:
    code: str
    title: str
    link: str
    caption: str = ""  # what to do with the code, for someone walking past


@dataclass(frozen=True)
class _Block:
    """One kind of text under the code: its lines, size, line height and weight."""

    lines: list[str]
    size: int
    step: int
    weight: str


def _text_blocks(
    code: str, title: str, caption: str, font: FontChoice, width: float
) -> list[_Block]:
    """The code, the title and the caption, wrapped to the label's width."""
    blocks = []
    for text, size, max_lines, weight in (
        (code, CODE_SIZE, 2, "bold"),
        (title, TITLE_SIZE, MAX_TITLE_LINES, "normal"),
        (caption, CAPTION_SIZE, MAX_CAPTION_LINES, "normal"),
    ):
        lines = wrap(text, font.font(size), width, max_lines)
        blocks.append(_Block(lines, size, int(size * LINE_SPACING), weight))
    return blocks


@dataclass(frozen=True)
class QRCode:
    """The link encoded once, drawn as PNG and SVG at the same module size."""

    qr: Any  # segno.QRCode
    modules: int  # per side, quiet zone included
    scale: int

    @classmethod
    def of(cls, link: str) -> QRCode:
        import segno  # only the qr command needs it

        qr = segno.make(link, error="m", micro=False)
        modules = int(qr.symbol_size(scale=1, border=QUIET_ZONE)[0])
        return cls(qr, modules, max(4, QR_PIXELS // modules))

    @property
    def size(self) -> int:
        return self.modules * self.scale

    def image(self) -> Image.Image:
        """Dark modules black on white, straight from the matrix (no PNG round trip)."""
        pixels = bytearray()
        for row in self.qr.matrix_iter(scale=1, border=QUIET_ZONE):
            pixels.extend(0 if bit else 255 for bit in row)
        small = Image.frombytes("L", (self.modules, self.modules), bytes(pixels))
        return small.resize((self.size, self.size), Image.Resampling.NEAREST)

    def svg(self) -> str:
        buffer = io.BytesIO()
        self.qr.save(
            buffer,
            kind="svg",
            scale=self.scale,
            border=QUIET_ZONE,
            xmldecl=False,
            svgns=False,
            nl=False,
        )
        return buffer.getvalue().decode()


def render_png(label: Label, qr_code: QRCode, font: FontChoice) -> Image.Image:
    """QR code above, then the code, the short title in at most three lines, and the caption."""
    qr = qr_code.image()
    width = max(qr.width, QR_PIXELS) + 2 * MARGIN
    code, title, caption = label.code, label.title, label.caption
    if not font.unicode:
        code, title, caption = ascii_fallback(code), ascii_fallback(title), ascii_fallback(caption)
    blocks = _text_blocks(code, title, caption, font, width - 2 * MARGIN)
    height = qr.height + sum(len(b.lines) * b.step for b in blocks) + MARGIN
    image = Image.new("L", (width, height), 255)
    image.paste(qr, ((width - qr.width) // 2, 0))
    draw = ImageDraw.Draw(image)
    y = qr.height
    for block in blocks:
        for line in block.lines:
            draw.text((width / 2, y), line, font=font.font(block.size), fill=0, anchor="ma")
            y += block.step
    return image


def render_svg(label: Label, qr_code: QRCode, font: FontChoice) -> str:
    """The same layout as the PNG, with real text: any viewer font with the script shows it."""
    qr_size = qr_code.size
    width = max(qr_size, QR_PIXELS) + 2 * MARGIN
    blocks = _text_blocks(label.code, label.title, label.caption, font, width - 2 * MARGIN)
    height = qr_size + sum(len(b.lines) * b.step for b in blocks) + MARGIN
    inner = qr_code.svg()
    x = (width - qr_size) / 2
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}">',
        f'<rect width="{width}" height="{height:.0f}" fill="#fff"/>',
        # segno's own <svg> nested at the top, as an element positioned by x.
        inner.replace("<svg ", f'<svg x="{x:.0f}" y="0" ', 1),
    ]
    y: float = qr_size
    for block in blocks:
        for line in block.lines:
            # The PNG anchors each line at its top; SVG text sits on its baseline.
            parts.append(
                f'<text x="{width / 2:.0f}" y="{y + block.size:.0f}" text-anchor="middle" '
                f'font-family={quoteattr(SVG_FONTS)} font-size="{block.size}" '
                f'font-weight="{block.weight}">{escape(line)}</text>'
            )
            y += block.step
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
