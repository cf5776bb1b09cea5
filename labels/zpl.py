"""ZPL II back end for Zebra printers at 203/300 dpi: the shared layout as one ^XA..^XZ per label."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal

import segno

from labels import code128, qr
from labels.fit import PT_PER_MM
from labels.fonts import LabelFont, clean_text, label_font
from labels.layout import (
    Box,
    Layout,
    Slot,
    TextBlock,
    field_texts,
    fit_slot,
    layout_for,
    place_lines,
)
from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.zplbitmap import graphic_field

CjkMode = Literal["bitmap", "resident"]
Progress = Callable[[int, int], None]
DEFAULT_RESIDENT_FONT = "E:SIMSUN.TTF"
MAX_BAR_MODULE_MM = 0.6
LINE_DOTS_MM = 0.25
# In subset B these three are ZPL syntax, so ^BC wants their invocation codes instead.
_BC_SPECIAL = str.maketrans({">": ">0", "^": "><", "~": ">="})
_CACHE_LIMIT = 50_000


def escape_fd(text: str) -> str:
    """Field data safe under ^FH: the hex indicator and both ZPL prefixes become _XX escapes."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def code128_fd(data: str) -> str:
    """^BC field data pinning exactly our subset plan, so the printed width is the computed one."""
    parts = []
    for i, (subset, text) in enumerate(code128.segments(data)):
        if subset == "B":
            parts.append((">6" if i else ">:") + text.translate(_BC_SPECIAL))
        else:
            parts.append((">5" if i else ">;") + text)
    return "".join(parts)


@lru_cache(maxsize=512)
def qr_size(n_bytes: int) -> int:
    """Modules per side of the byte-mode QR for ``n_bytes`` (an upper bound for printer auto mode)."""
    sample = segno.make_qr("a" * n_bytes, error=qr.QR_ERROR, mask=0, boost_error=False)
    return len(sample.matrix)


class _Writer:
    """Turns bound layouts into ZPL for one dpi and one CJK strategy."""

    def __init__(self, font: LabelFont, dpi: int, cjk: CjkMode, resident_font: str) -> None:
        self.font = font
        self.dpi = dpi
        self.cjk = cjk
        self.resident_font = resident_font
        self.k = dpi / 25.4
        self._cache: dict[tuple[int, str], str] = {}

    def d(self, mm: float) -> int:
        return round(mm * self.k)

    def box(self, box: Box, thickness: int) -> str:
        return (
            f"^FO{self.d(box.x)},{self.d(box.y)}^GB{self.d(box.w)},{self.d(box.h)},{thickness}^FS"
        )

    def rule(self, rule: tuple[float, float, float, float]) -> str:
        x0, y0, x1, y1 = rule
        t = max(1, self.d(LINE_DOTS_MM))
        w, h = max(t, self.d(x1 - x0)), max(t, self.d(y1 - y0))
        return f"^FO{self.d(x0)},{self.d(y0)}^GB{w},{h},{t}^FS"

    def text(self, block: TextBlock) -> list[str]:
        box = block.slot.box
        out = [self.box(box, min(self.d(box.w), self.d(box.h)))] if block.slot.inverse else []
        size = round(block.size_pt / 72.0 * self.dpi)
        rev = "^FR" if block.slot.inverse else ""
        for line, x, base in place_lines(block, self.font):
            out.append(self.line(line, (self.d(x), round(base / PT_PER_MM * self.k)), size, rev))
        return out

    def line(self, line: str, at: tuple[int, int], size: int, rev: str) -> str:
        x, base = at
        if self.cjk == "resident":
            font = f"^A@N,{size},{size},{self.resident_font}"
        elif line.isascii():
            font = f"^A0N,{size},{size}"
        else:
            gf, ascent = graphic_field(line, size, self.font)
            return f"^FO{x},{base - ascent}{rev}{gf}^FS"
        return f"^FT{x},{base}{rev}{font}^FH^FD{escape_fd(line)}^FS"

    def barcode(self, box: Box, data: str) -> str:
        modules = code128.width_modules(code128.segments(data))
        quiet = 2 * code128.QUIET_MODULES
        module = max(1, min(self.d(MAX_BAR_MODULE_MM), self.d(box.w) // (modules + quiet)))
        x = self.d(box.x) + (self.d(box.w) - modules * module) // 2
        h = self.d(box.h)
        return f"^FO{x},{self.d(box.y)}^BY{module},3,{h}^BCN,{h},N,N,N,N^FD{code128_fd(data)}^FS"

    def qr(self, box: Box, payload: str) -> str:
        n = qr_size(len(payload.encode("utf-8")))
        side = min(self.d(box.w), self.d(box.h))
        mag = max(1, min(10, side // (n + 2 * qr.QUIET_MODULES)))
        x = self.d(box.x) + (self.d(box.w) - n * mag) // 2
        y = self.d(box.y) + (self.d(box.h) - n * mag) // 2
        return f"^FO{x},{y}^BQN,2,{mag}^FH^FDMA,{escape_fd(payload)}^FS"

    def static(self, layout: Layout) -> str:
        size = layout.size
        head = f"^XA\n^CI28\n^PW{self.d(size.width_mm)}\n^LL{self.d(size.height_mm)}\n^LH0,0"
        parts = [head, self.box(layout.frame, max(2, self.d(0.3)))]
        parts += [self.rule(r) for r in layout.rules]
        for block in layout.captions:
            parts += self.text(block)
        return "\n".join(parts)

    def label(self, static: str, layout: Layout, label: LabelData) -> str:
        texts = field_texts(label)
        parts = [static]
        for i, slot in enumerate(layout.slots):
            parts.append(self.slot(i, slot, texts[slot.field]))
        parts.append(self.barcode(layout.barcode, label.waybill_no))
        parts.append(self.qr(layout.qr, label.qr_payload))
        parts.append("^XZ\n")
        return "\n".join(parts)

    def slot(self, index: int, slot: Slot, text: str) -> str:
        """ZPL for one slot; identical texts in a batch (sender, date...) are rendered once."""
        key = (index, text)
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            hit = "\n".join(self.text(fit_slot(slot, clean_text(text, self.font), self.font)))
            self._cache[key] = hit
        return hit


def render_zpl(
    labels: Sequence[LabelData],
    size: LabelSize = LABEL_100x150,
    dpi: int = 203,
    cjk: CjkMode = "bitmap",
    resident_font: str = DEFAULT_RESIDENT_FONT,
    progress: Progress | None = None,
) -> bytes:
    """One UTF-8 (^CI28) ^XA..^XZ format per label, concatenated.

    ``cjk="resident"`` names a CJK TrueType font stored on the printer (``resident_font``,
    used via ^A@); ``cjk="bitmap"`` sends lines with non-ASCII text as ^GF graphics rendered
    from the label font, so any Zebra prints Chinese.
    """
    if cjk not in ("bitmap", "resident"):
        raise ValueError(f"cjk must be 'bitmap' or 'resident', got {cjk!r}")
    font = label_font()
    layout = layout_for(size, font)
    writer = _Writer(font, dpi, cjk, resident_font)
    static = writer.static(layout)
    out = []
    for i, label in enumerate(labels, 1):
        out.append(writer.label(static, layout, label))
        if progress:
            progress(i, len(labels))
    return "".join(out).encode("utf-8")
