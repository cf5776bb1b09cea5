"""Wrap-or-shrink text fitting against the label font's real advance widths."""

from __future__ import annotations

import math
import struct
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate

from labels.fonts import LabelFont

PT_PER_MM = 72.0 / 25.4
LEADING = 1.15
SIZE_STEP_PT = 0.25
ELLIPSIS = "…"
# Closing punctuation must not start a line (the usual Chinese kinsoku rule).
_NO_LINE_START = frozenset("，。、；：？！）」』】》〉”’,.;:?!)]}%")

# (font size in pt, lines, line widths in pt)
Fitted = tuple[float, tuple[str, ...], tuple[float, ...]]


def block_height_pt(size_pt: float, n_lines: int, font: LabelFont) -> float:
    """Height of ``n_lines`` of text: one em box plus the leading of each further line."""
    return size_pt * (font.ascent - font.descent) + (n_lines - 1) * size_pt * LEADING


def max_lines(size_pt: float, height_pt: float, font: LabelFont) -> int:
    em = size_pt * (font.ascent - font.descent)
    if em > height_pt:
        return 0
    return 1 + int((height_pt - em) / (size_pt * LEADING) + 1e-9)


_WORD = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _line_end(text: str, cum: list[float], start: int, limit: float) -> int:
    """End index of the line starting at ``start``; avoids splitting ASCII words when it can."""
    end = bisect_right(cum, cum[start] + limit, lo=start + 1) - 1
    if end <= start:
        return start + 1
    if end < len(text) and text[end] in _NO_LINE_START:
        k = end
        while k - 1 > start and text[k] in _NO_LINE_START:
            k -= 1
        return k if text[k] not in _NO_LINE_START else end
    if end < len(text) and text[end - 1] in _WORD and text[end] in _WORD:
        k = end - 1
        while k > start and text[k - 1] in _WORD:
            k -= 1
        if k > start:
            return k
    return end


Span = tuple[int, int]


def wrap(text: str, cum: list[float], limit: float, most: int) -> list[Span] | None:
    """Greedy wrap with ``limit`` in 1/1000 em into (start, stop) spans without edge spaces;
    None if more than ``most`` lines are needed."""
    spans: list[Span] = []
    start, n = 0, len(text)
    while start < n:
        if len(spans) == most:
            return None
        end = _line_end(text, cum, start, limit)
        stop = end
        while stop > start and text[stop - 1] == " ":
            stop -= 1
        spans.append((start, stop))
        start = end
        while start < n and text[start] == " ":
            start += 1
    return spans


def area_size(units: float, w_pt: float, h_pt: float) -> float:
    """The size at which ``units`` (1/1000 em) of text would fill the box: where to start."""
    return math.sqrt(w_pt * h_pt * 1000.0 / (max(units, 1.0) * LEADING))


def top_size(max_pt: float, min_pt: float, first_pt: float) -> float:
    """The first size fit_block tries: ``first_pt`` on the size grid, within the slot's span."""
    return min(max_pt, max(min_pt, math.floor(first_pt / SIZE_STEP_PT) * SIZE_STEP_PT))


def most_units_at_top(max_pt: float, min_pt: float, w_pt: float, h_pt: float) -> float:
    """The most text (1/1000 em) for which fit_block tries ``max_pt`` first (-1 if none):
    every float step of area_size and top_size is monotonic, so this is a threshold."""
    return threshold(lambda units: top_size(max_pt, min_pt, area_size(units, w_pt, h_pt)) == max_pt)


def threshold(holds: Callable[[float], bool]) -> float:
    """The largest non-negative float for which ``holds``, a condition true up to some value
    and false beyond it, is true (-1 if never): bisected over the ordered bit patterns."""

    def at(bits: int) -> bool:
        return holds(struct.unpack("<d", struct.pack("<q", bits))[0])

    lo, hi = 0, struct.unpack("<q", struct.pack("<d", 1e300))[0]
    if not at(lo):
        return -1.0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if at(mid) else (lo, mid)
    return float(struct.unpack("<d", struct.pack("<q", lo))[0])


def _sizes(max_pt: float, min_pt: float, first_pt: float) -> Iterator[float]:
    top = top_size(max_pt, min_pt, first_pt)
    for i in range(int(round((top - min_pt) / SIZE_STEP_PT)) + 1):
        yield top - i * SIZE_STEP_PT


def truncate(text: str, size_pt: float, width_pt: float, font: LabelFont) -> str:
    """Cut ``text`` so that it plus an ellipsis fits ``width_pt`` (unless it fits as is)."""
    if font.width_pt(text, size_pt) <= width_pt:
        return text
    return _cut(text, size_pt, width_pt, font)


def _cut(text: str, size_pt: float, width_pt: float, font: LabelFont) -> str:
    budget = width_pt * 1000.0 / size_pt - font.widths[ELLIPSIS]
    cum = list(accumulate(map(font.widths.__getitem__, text)))
    return text[: bisect_right(cum, budget)].rstrip() + ELLIPSIS


def fit_line(
    text: str, w_pt: float, h_pt: float, span: tuple[float, float], font: LabelFont
) -> Fitted:
    """One line, shrunk to fit (down to ``span[1]``), then truncated with an ellipsis."""
    max_pt, min_pt = span
    units = sum(map(font.widths.__getitem__, text)) or 1.0
    size = min(max_pt, w_pt * 1000.0 / units, h_pt / (font.ascent - font.descent))
    size = max(min_pt, math.floor(size / SIZE_STEP_PT) * SIZE_STEP_PT)
    width = units * size / 1000.0
    if width <= w_pt:
        return size, (text,), (width,)
    line = _cut(text, size, w_pt, font)
    return size, (line,), (font.width_pt(line, size),)


def fit_block(
    text: str, w_pt: float, h_pt: float, span: tuple[float, float], font: LabelFont
) -> Fitted:
    """Wrap first, shrink while it still does not fit; truncate the last line as a last resort."""
    max_pt, min_pt = span
    cum = list(accumulate(map(font.widths.__getitem__, text), initial=0.0))
    for size in _sizes(max_pt, min_pt, area_size(cum[-1], w_pt, h_pt)):
        spans = wrap(text, cum, w_pt * 1000.0 / size, max_lines(size, h_pt, font))
        if spans is not None:
            lines = tuple([text[a:b] for a, b in spans])
            return size, lines, tuple([(cum[b] - cum[a]) * size / 1000.0 for a, b in spans])
    lines = tuple(_overflowing(text, cum, w_pt, h_pt, min_pt, font))
    return min_pt, lines, tuple([font.width_pt(ln, min_pt) for ln in lines])


def _overflowing(
    text: str, cum: list[float], w_pt: float, h_pt: float, size: float, font: LabelFont
) -> list[str]:
    most = max(1, max_lines(size, h_pt, font))
    spans = wrap(text, cum, w_pt * 1000.0 / size, len(text) + 1) or [(0, 0)]
    kept = [text[a:b] for a, b in spans[:most]]
    kept[-1] = truncate(kept[-1] + ELLIPSIS, size, w_pt, font)
    return kept
