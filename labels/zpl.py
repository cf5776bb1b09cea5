"""ZPL II back end for Zebra printers (203/300 dpi): the shared layout, one ^XA..^XZ per label."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal

import segno

from labels import code128, qr
from labels.fonts import LabelFont, label_font
from labels.layout import Box, Fitter, Layout, Placed, Slot, field_texts, layout_for, placed
from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.zplbitmap import bold_dots, graphic_field

CjkMode = Literal["bitmap", "resident"]
Progress = Callable[[int, int], None]
DEFAULT_RESIDENT_FONT = "E:SIMSUN.TTF"
MAX_BAR_MODULE_MM = 0.6
LINE_DOTS_MM = 0.25
# In subset B these three are ZPL syntax, so ^BC wants their invocation codes instead.
_BC_SPECIAL = str.maketrans({">": ">0", "^": "><", "~": ">="})
_CACHE_LIMIT = 50_000
# Drive letter and file name only: the name is spliced into ^A@ unescaped.
_FONT_NAME = re.compile(r"[A-Z]:[A-Za-z0-9_.-]{1,60}")


def escape_fd(text: str) -> str:
    """Field data safe under ^FH: the hex indicator and both ZPL prefixes become _XX escapes."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def code128_fd(data: str | list[code128.Segment]) -> str:
    """^BC field data pinning exactly our subset plan, so the printed width is the computed one."""
    parts = []
    plan = code128.segments(data) if isinstance(data, str) else data
    for i, (subset, text) in enumerate(plan):
        if subset == "B":
            parts.append((">6" if i else ">:") + text.translate(_BC_SPECIAL))
        else:
            parts.append((">5" if i else ">;") + text)
    return "".join(parts)


@lru_cache(maxsize=512)
def qr_size(n_bytes: int) -> int:
    """Modules per side of a byte-mode QR of ``n_bytes``: an upper bound for the printer's pick."""
    sample = segno.make_qr("a" * n_bytes, error=qr.QR_ERROR, mask=0, boost_error=False)
    return len(sample.matrix)


def _check_options(dpi: int, cjk: str, resident_font: str) -> None:
    if cjk not in ("bitmap", "resident"):
        raise ValueError(f"cjk must be 'bitmap' or 'resident', got {cjk!r}")
    if not 100 <= dpi <= 600:
        raise ValueError(f"dpi {dpi} is not a label printer resolution (203, 300, 600)")
    if not _FONT_NAME.fullmatch(resident_font):
        raise ValueError(f"resident_font must look like E:SIMSUN.TTF, got {resident_font!r}")


class _Writer:
    """Turns labels into ZPL for one dpi and one CJK strategy."""

    def __init__(self, font: LabelFont, dpi: int, cjk: CjkMode, resident_font: str) -> None:
        self.font = font
        self.dpi = dpi
        self.cjk = cjk
        self.resident_font = resident_font
        self.k = dpi / 25.4
        self.dots_per_pt = dpi / 72.0
        self._cache: dict[tuple[int, str], str] = {}
        self._resident_cmd: dict[int, str] = {}

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

    def text(self, placed: Placed) -> list[str]:
        slot = placed.slot
        box = slot.box
        out = [self.box(box, min(self.d(box.w), self.d(box.h)))] if slot.inverse else []
        size = round(placed.size_pt * self.dots_per_pt)
        k, dots_per_pt = self.k, self.dots_per_pt
        for line, x, base in placed.lines:
            out.append(self.line(line, (round(x * k), round(base * dots_per_pt)), size, slot))
        return out

    def line(self, line: str, at: tuple[int, int], size: int, slot: Slot) -> str:
        x, base = at
        rev = "^FR" if slot.inverse else ""
        if self.cjk == "bitmap":
            gf, ascent = graphic_field(line, size, self.font, slot.bold)
            return f"^FO{x},{base - ascent}{rev}{gf}^FS"
        font = self._resident_cmd.get(size) or self._resident(size)
        field = f"{rev}{font}^FH^FD{escape_fd(line)}^FS"
        if slot.bold and not slot.inverse:
            # Double strike: the resident fonts have no bold face; a reversed field would cancel.
            return f"^FT{x},{base}{field}\n^FT{x + bold_dots(size)},{base}{field}"
        return f"^FT{x},{base}{field}"

    def _resident(self, size: int) -> str:
        cmd = self._resident_cmd[size] = f"^A@N,{size},{size},{self.resident_font}"
        return cmd

    def barcode(self, box: Box, data: str) -> str:
        plan = code128.segments(data)
        modules = code128.width_modules(plan)
        quiet = 2 * code128.QUIET_MODULES
        module = max(1, min(self.d(MAX_BAR_MODULE_MM), self.d(box.w) // (modules + quiet)))
        x = self.d(box.x) + (self.d(box.w) - modules * module) // 2
        h = self.d(box.h)
        return f"^FO{x},{self.d(box.y)}^BY{module},3,{h}^BCN,{h},N,N,N,N^FD{code128_fd(plan)}^FS"

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
            parts += self.text(placed(block, self.font))
        return "\n".join(parts)

    def label(self, static: str, fitter: Fitter, label: LabelData, symbols: bool = True) -> str:
        texts = field_texts(label)
        parts = [static]
        cache = self._cache
        layout = fitter.layout
        for i, slot in enumerate(layout.slots):
            text = texts[slot.field]
            zpl = cache.get((i, text))
            if zpl is None:
                zpl = self.slot(fitter, i, text)
            if zpl:
                parts.append(zpl)
        if symbols:
            parts.append(self.barcode(layout.barcode, label.waybill_no))
            parts.append(self.qr(layout.qr, label.qr_payload))
        parts.append("^XZ\n")
        return "\n".join(parts)

    def slot(self, fitter: Fitter, index: int, text: str) -> str:
        """ZPL for one slot; identical texts in a batch (sender, date...) are rendered once."""
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        zpl = "\n".join(self.text(fitter.place(index, text)))
        self._cache[(index, text)] = zpl
        return zpl


def render_zpl(
    labels: Sequence[LabelData],
    size: LabelSize = LABEL_100x150,
    dpi: int = 203,
    cjk: CjkMode = "bitmap",
    resident_font: str = DEFAULT_RESIDENT_FONT,
    *,
    progress: Progress | None = None,
) -> bytes:
    """One UTF-8 (^CI28) ^XA..^XZ format per label, concatenated.

    ``cjk="resident"`` prints text with a CJK TrueType font stored on the printer
    (``resident_font`` via ^A@): small jobs, fast, but the font must be installed.
    ``cjk="bitmap"`` sends every text line as a ^GF graphic rasterised from the label font,
    so any Zebra prints the Chinese exactly as the PDF shows it.
    ``progress(done, total)`` is called after each label.
    """
    return draw_zpl(labels, size, dpi, cjk, resident_font, progress=progress)


def draw_zpl(
    labels: Sequence[LabelData],
    size: LabelSize = LABEL_100x150,
    dpi: int = 203,
    cjk: CjkMode = "bitmap",
    resident_font: str = DEFAULT_RESIDENT_FONT,
    *,
    progress: Progress | None = None,
    symbols: bool = True,
) -> bytes:
    """``render_zpl``; ``symbols=False`` leaves out both barcodes (the benchmark floor)."""
    _check_options(dpi, cjk, resident_font)
    font = label_font()
    layout = layout_for(size, font)
    writer = _Writer(font, dpi, cjk, resident_font)
    static, fitter = writer.static(layout), Fitter(layout, font)
    out = []
    for i, label in enumerate(labels, 1):
        out.append(writer.label(static, fitter, label, symbols))
        if progress:
            progress(i, len(labels))
    return "".join(out).encode("utf-8")
