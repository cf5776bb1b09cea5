"""Rasterises a text line with Pillow into ZPL ^GF hex rows, for printers without a CJK font."""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from labels.fonts import LabelFont


@lru_cache(maxsize=64)
def _pil_font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px, index=0)


def bold_dots(size_px: int) -> int:
    """Emboldening in dots, proportional to the type size (the label font has no bold face)."""
    return max(1, round(size_px / 28))


def _compress_rows(raw: bytes, row_bytes: int) -> str:
    """ZPL ASCII-hex rows with the two simple shorthands: ',' zero-fills a row, ':' repeats it."""
    out: list[str] = []
    prev = None
    for i in range(0, len(raw), row_bytes):
        row = raw[i : i + row_bytes].hex().upper()
        if row == prev:
            out.append(":")
            continue
        prev = row
        body = row.rstrip("0")
        out.append(body if len(body) == len(row) else body + ",")
    return "".join(out)


def graphic_field(line: str, size_px: int, font: LabelFont, bold: bool = False) -> tuple[str, int]:
    """(``^GFA`` command, ascent in dots) for ``line``; 1 bits are dots to burn."""
    pil = _pil_font(font.path, size_px)
    stroke = bold_dots(size_px) if bold else 0
    ascent = math.ceil(size_px * font.ascent) + stroke
    height = ascent + math.ceil(-size_px * font.descent) + stroke
    width = max(8, math.ceil(pil.getlength(line)) + 1 + 2 * stroke)
    image = Image.new("1", (width, height), 0)
    ImageDraw.Draw(image).text(
        (stroke, ascent), line, font=pil, fill=1, anchor="ls", stroke_width=stroke, stroke_fill=1
    )
    row_bytes = (width + 7) // 8
    total = row_bytes * height
    data = _compress_rows(image.tobytes(), row_bytes)
    return f"^GFA,{total},{total},{row_bytes},{data}", ascent
