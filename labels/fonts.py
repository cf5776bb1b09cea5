"""Locates, registers (once) and measures the CJK TrueType font used by every back end."""

from __future__ import annotations

import os
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT_ENV = "CLEARWAY_LABEL_FONT"
FONT_PACKAGE = "fonts-wqy-zenhei"


class LabelFontError(RuntimeError):
    """The CJK label font is missing or unreadable."""


class _Widths(dict[str, float]):
    """Per-character advance widths in 1/1000 em, filled lazily from the font."""

    def __init__(self, font: TTFont) -> None:
        super().__init__()
        self._font = font

    def __missing__(self, ch: str) -> float:
        width = float(self._font.stringWidth(ch, 1000))
        self[ch] = width
        return width


@dataclass(frozen=True, eq=False)
class LabelFont:
    """A registered font plus the metrics the layout needs."""

    name: str
    path: str
    font: TTFont
    widths: _Widths
    ascent: float
    descent: float
    covered: frozenset[str]
    # Finds a character the font lacks or whitespace other than a space: text without one
    # (and without double or edge spaces) is already clean, the common case.
    uncovered: re.Pattern[str]

    def width_pt(self, text: str, size_pt: float) -> float:
        """Advance width of ``text`` at ``size_pt`` in points."""
        return sum(map(self.widths.__getitem__, text)) * size_pt / 1000.0

    def covers(self, ch: str) -> bool:
        return ch in self.covered


def font_path() -> str:
    """The configured font path: $CLEARWAY_LABEL_FONT or the Debian default."""
    return os.environ.get(FONT_ENV) or DEFAULT_FONT_PATH


def label_font() -> LabelFont:
    """The registered label font for the configured path (parsed once per path)."""
    return _load(font_path())


def _parse(path: str) -> TTFont:
    if not Path(path).is_file():
        raise LabelFontError(
            f"label font {path!r} not found: install the Debian package {FONT_PACKAGE} "
            f"or point ${FONT_ENV} at a TrueType/TTC font with CJK glyphs"
        )
    # A stable name keeps PDFs byte-identical across processes (str hashes are salted).
    name = f"ClearwayCJK-{zlib.crc32(path.encode()):08x}"
    try:
        return TTFont(name, path, subfontIndex=0)
    except Exception as exc:  # reportlab raises several unrelated types for bad files
        raise LabelFontError(f"cannot load label font {path!r}: {exc}") from exc


@lru_cache(maxsize=4)
def _load(path: str) -> LabelFont:
    font = _parse(path)
    pdfmetrics.registerFont(font)
    face = font.face
    return LabelFont(
        name=font.fontName,
        path=path,
        font=font,
        widths=_Widths(font),
        ascent=float(face.ascent) / 1000.0,
        descent=float(face.descent) / 1000.0,
        covered=frozenset(map(chr, face.charToGlyph)),
        uncovered=_uncovered_pattern(face.charToGlyph),
    )


def _uncovered_pattern(codepoints: Iterable[int]) -> re.Pattern[str]:
    ranges: list[list[int]] = []
    for cp in sorted(cp for cp in codepoints if cp == 32 or not chr(cp).isspace()):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    covered = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
    return re.compile(f"[^{covered}]")


@dataclass(frozen=True)
class ByteWidths:
    """Advance widths by Latin-1 byte, for text already clean: ``text.encode("latin-1",
    "replace")`` turns every other character into ``?``, whose entry holds the one width
    (that of CJK ideographs) they all share unless ``irregular`` finds the text."""

    widths: list[float]
    # Finds what the table cannot measure: an uncovered character, a real '?', or a
    # character beyond Latin-1 whose width is not the common one.
    irregular: re.Pattern[str]


@lru_cache(maxsize=4)
def byte_widths(font: LabelFont) -> ByteWidths:
    """The font's ByteWidths, built once (it measures every glyph of the font)."""
    wide = {cp: font.widths[chr(cp)] for cp in font.font.face.charToGlyph if cp > 0xFF}
    common = Counter(wide.values()).most_common(1)[0][0] if wide else 1000.0
    table = [font.widths[chr(i)] if chr(i) in font.covered else 0.0 for i in range(256)]
    table[ord("?")] = common
    latin = (cp for cp in range(256) if chr(cp) in font.covered and cp != ord("?"))
    regular = [*latin, *(cp for cp, width in wide.items() if width == common)]
    return ByteWidths(table, _uncovered_pattern(regular))


_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Sk", "So"})


def clean_text(text: str, font: LabelFont) -> str:
    """Make ``text`` printable: whitespace collapsed, emoji dropped, other missing glyphs as '?'."""
    if font.uncovered.search(text) is None and "  " not in text and text.strip(" ") == text:
        return text
    text = " ".join(text.split())
    if font.covered.issuperset(text):
        return text
    out = []
    for ch in text:
        if font.covers(ch):
            out.append(ch)
        elif unicodedata.category(ch) not in _DROP_CATEGORIES:
            out.append("?")
    return " ".join("".join(out).split())
