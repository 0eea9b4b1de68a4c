"""A printable A4 sheet of QR labels (PDF, fpdf2), six to a page.

Each label is placed as the image rendered by bot.admin.labels, so titles in any script print
as they look in the PNG; fpdf2's own fonts would cover Latin-1 only.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

PAGE_W, PAGE_H = 210.0, 297.0  # A4 in millimetres
MARGIN = 10.0
COLUMNS, ROWS = 2, 3
PADDING = 4.0
PER_PAGE = COLUMNS * ROWS


class Sheet:
    """Labels are added one at a time; fpdf2 compresses each image as it is placed, so a sheet
    of the whole catalog does not hold every bitmap in memory."""

    def __init__(self) -> None:
        from fpdf import FPDF  # only the qr command needs it

        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margin(0)
        self.count = 0

    def add(self, label: Image.Image) -> None:
        slot = self.count % PER_PAGE
        if slot == 0:
            self.pdf.add_page()
        cell_w = (PAGE_W - 2 * MARGIN) / COLUMNS
        cell_h = (PAGE_H - 2 * MARGIN) / ROWS
        x0 = MARGIN + (slot % COLUMNS) * cell_w
        y0 = MARGIN + (slot // COLUMNS) * cell_h
        # A light dashed frame to cut along.
        self.pdf.set_draw_color(190)
        self.pdf.set_line_width(0.2)
        self.pdf.set_dash_pattern(dash=1.5, gap=1.5)
        self.pdf.rect(x0, y0, cell_w, cell_h)
        scale = min((cell_w - 2 * PADDING) / label.width, (cell_h - 2 * PADDING) / label.height)
        w, h = label.width * scale, label.height * scale
        self.pdf.image(label, x=x0 + (cell_w - w) / 2, y=y0 + (cell_h - h) / 2, w=w, h=h)
        self.count += 1

    @property
    def pages(self) -> int:
        return self.pdf.pages_count

    def save(self, path: Path) -> None:
        self.pdf.output(str(path))
