"""ZPL II back end for Zebra printers (203/300 dpi): the shared layout, one ^XA..^XZ per label."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import Literal

import segno

from labels import code128, qr
from labels.fit import (
    LEADING,
    PT_PER_MM,
    SIZE_STEP_PT,
    area_size,
    fit_block,
    max_lines,
    top_size,
    wrap,
)
from labels.fonts import LabelFont, clean_text, label_font
from labels.layout import (
    Box,
    Fitter,
    Layout,
    LineConst,
    Placed,
    Slot,
    TextBlock,
    field_texts,
    layout_for,
    place_lines,
    placed,
)
from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.zplbitmap import bold_dots, graphic_field

CjkMode = Literal["bitmap", "resident"]
Progress = Callable[[int, int], None]
# ZPL of a slot for already-cleaned text, or None when the text needs the general fitting.
SlotZpl = Callable[[str], "str | None"]
# Code 128 plan pieces: (start code, start, stop, subset B) over the data's characters.
Cut = tuple[str, int, int, bool]
DEFAULT_RESIDENT_FONT = "E:SIMSUN.TTF"
MAX_BAR_MODULE_MM = 0.6
LINE_DOTS_MM = 0.25
# In subset B these three are ZPL syntax, so ^BC wants their invocation codes instead.
_BC_SPECIAL = str.maketrans({">": ">0", "^": "><", "~": ">="})
_CACHE_LIMIT = 512
# Drive letter and file name only: the name is spliced into ^A@ unescaped.
_FONT_NAME = re.compile(r"[A-Z]:[A-Za-z0-9_.-]{1,60}")
# The subset plan depends only on where the digits are, so it is cached per digit pattern.
_DIGIT_PATTERN = str.maketrans("0123456789", "0000000000")


def strike(x: int, base: int, head: str, data: str, bold: int) -> str:
    """One resident-font line at baseline ``(x, base)``, struck a second time ``bold`` dots on."""
    field = f"{head}{data}^FS"
    if bold:
        return f"^FT{x},{base}{field}\n^FT{x + bold},{base}{field}"
    return f"^FT{x},{base}{field}"


def escape_fd(text: str) -> str:
    """Field data safe under ^FH: the hex indicator and both ZPL prefixes become _XX escapes."""
    if "_" in text or "^" in text or "~" in text:
        return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")
    return text


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
        # Per slot: (index, field, ZPL by raw text), so repeated texts are rendered once.
        self._plan: list[tuple[int, str, dict[str, bytes]]] = []
        self._static = b""
        self._resident_cmd: dict[int, str] = {}
        self._barcodes: dict[str, tuple[str, list[Cut]]] = {}
        self._qr_heads: dict[int, str] = {}
        self._fast: list[SlotZpl | None] = []

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
        if self.cjk == "bitmap":
            rev = "^FR" if slot.inverse else ""
            gf, ascent = graphic_field(line, size, self.font, slot.bold)
            return f"^FO{x},{base - ascent}{rev}{gf}^FS"
        return strike(
            x, base, self.field_head(size, slot), escape_fd(line), self.strike(size, slot)
        )

    def field_head(self, size: int, slot: Slot) -> str:
        """What follows ^FTx,y up to the field data: reverse, the resident font, ^FH^FD."""
        font = self._resident_cmd.get(size) or self._resident(size)
        return f"^FR{font}^FH^FD" if slot.inverse else f"{font}^FH^FD"

    @staticmethod
    def strike(size: int, slot: Slot) -> int:
        """Offset of the second strike in dots; 0 when the line is struck once."""
        # Double strike: the resident fonts have no bold face; a reversed field would cancel.
        return bold_dots(size) if slot.bold and not slot.inverse else 0

    def _resident(self, size: int) -> str:
        cmd = self._resident_cmd[size] = f"^A@N,{size},{size},{self.resident_font}"
        return cmd

    def barcode(self, box: Box, data: str) -> str:
        pattern = data.translate(_DIGIT_PATTERN)
        found = self._barcodes.get(pattern)
        if found is None:
            found = self._barcodes[pattern] = self._barcode_plan(box, data)
        head, cuts = found
        if len(cuts) == 1:
            return f"{head}{_cut_fd(cuts[0], data)}^FS"
        return f"{head}{''.join([_cut_fd(cut, data) for cut in cuts])}^FS"

    def _barcode_plan(self, box: Box, data: str) -> tuple[str, list[Cut]]:
        """The ^BC command up to its field data, and where the data switches subset."""
        plan = code128.segments(data)
        modules = code128.width_modules(plan)
        quiet = 2 * code128.QUIET_MODULES
        module = max(1, min(self.d(MAX_BAR_MODULE_MM), self.d(box.w) // (modules + quiet)))
        x = self.d(box.x) + (self.d(box.w) - modules * module) // 2
        h = self.d(box.h)
        return f"^FO{x},{self.d(box.y)}^BY{module},3,{h}^BCN,{h},N,N,N,N^FD", _cuts(plan)

    def qr(self, box: Box, payload: str) -> str:
        n = qr_size(len(payload.encode("utf-8")))
        head = self._qr_heads.get(n) or self._qr_head(box, n)
        return f"{head}{escape_fd(payload)}^FS"

    def _qr_head(self, box: Box, n: int) -> str:
        side = min(self.d(box.w), self.d(box.h))
        mag = max(1, min(10, side // (n + 2 * qr.QUIET_MODULES)))
        x = self.d(box.x) + (self.d(box.w) - n * mag) // 2
        y = self.d(box.y) + (self.d(box.h) - n * mag) // 2
        head = self._qr_heads[n] = f"^FO{x},{y}^BQN,2,{mag}^FH^FDMA,"
        return head

    def static(self, layout: Layout) -> str:
        size = layout.size
        head = f"^XA\n^CI28\n^PW{self.d(size.width_mm)}\n^LL{self.d(size.height_mm)}\n^LH0,0"
        parts = [head, self.box(layout.frame, max(2, self.d(0.3)))]
        parts += [self.rule(r) for r in layout.rules]
        for block in layout.captions:
            parts += self.text(placed(block, self.font))
        return "\n".join(parts)

    def compile(self, fitter: Fitter) -> None:
        """Prepare each slot's cache and template for ``fitter``'s layout (templates need
        resident fonts)."""
        slots = fitter.layout.slots
        self._static = (self.static(fitter.layout) + "\n").encode()
        self._plan = [(i, slot.field, {}) for i, slot in enumerate(slots)]
        self._fast = [self._template(fitter, i) for i in range(len(slots))]

    def _template(self, fitter: Fitter, index: int) -> SlotZpl | None:
        slot = fitter.layout.slots[index]
        if self.cjk != "resident":
            return None
        if not slot.wrap:
            return self._line(fitter, index)
        if slot.align == "L" and slot.valign == "T":
            return self._paragraph(fitter, index)
        return self._block(fitter, index)

    def _lead(self, slot: Slot) -> str:
        """What precedes a slot's lines: the black box behind reversed text."""
        box = slot.box
        return self.box(box, min(self.d(box.w), self.d(box.h))) + "\n" if slot.inverse else ""

    def _pieces(self, x: int, base: int, size_pt: float, slot: Slot) -> list[str]:
        """A line's ZPL split where its (escaped) text goes: ``text.join(pieces)``."""
        dots = round(size_pt * self.dots_per_pt)
        line = strike(x, base, self.field_head(dots, slot), "\0", self.strike(dots, slot))
        return line.split("\0")

    def _line(self, fitter: Fitter, index: int) -> SlotZpl:
        """One-line slot: text that fits at the slot's top size needs no fitting, only its
        width for the alignment; anything else (shrink, cut) goes the general way (None)."""
        slot, c, font = fitter.layout.slots[index], fitter.line_const(index), self.font
        # The same expressions as fit_line and Fitter.place, so the output is identical.
        top = min(c.span[0], c.h_pt / (font.ascent - font.descent))
        size = max(c.span[1], math.floor(top / SIZE_STEP_PT) * SIZE_STEP_PT)
        base = round((c.base0_pt + size * c.base_k) * self.dots_per_pt)
        widths, w_pt = font.widths.__getitem__, c.w_pt
        if c.align == 0.0:  # left-aligned text starts at the same x whatever its width
            pieces = self._pieces(round(c.x_mm * self.k), base, size, slot)
            pieces[0] = self._lead(slot) + pieces[0]

            def left(text: str) -> str | None:
                units = sum(map(widths, text)) or 1.0
                if w_pt * 1000.0 / units < top or units * size / 1000.0 > w_pt:
                    return None
                return escape_fd(text).join(pieces)

            return left
        return self._aligned(slot, c, (top, size, base))

    def _aligned(self, slot: Slot, c: LineConst, fit: tuple[float, float, int]) -> SlotZpl:
        """The one-line template for centred or right-aligned text (x follows its width)."""
        (top, size, base), k, widths = fit, self.k, self.font.widths.__getitem__
        dots = round(size * self.dots_per_pt)
        lead, head, bold = self._lead(slot), self.field_head(dots, slot), self.strike(dots, slot)
        w_pt, x_mm, w_mm, align = c.w_pt, c.x_mm, c.w_mm, c.align

        def aligned(text: str) -> str | None:
            units = sum(map(widths, text)) or 1.0
            width = units * size / 1000.0
            if w_pt * 1000.0 / units < top or width > w_pt:
                return None
            x = round((x_mm + (w_mm - width / PT_PER_MM) * align) * k)
            return lead + strike(x, base, head, escape_fd(text), bold)

        return aligned

    def _paragraph(self, fitter: Fitter, index: int) -> SlotZpl:
        """Top-left wrapping slot: text that wraps at the slot's largest size takes prepared
        line templates; anything smaller goes through the general block fitting."""
        slot, font, general = fitter.layout.slots[index], self.font, self._block(fitter, index)
        box, size = slot.box, slot.max_pt
        w_pt, h_pt, min_pt = box.w * PT_PER_MM, box.h * PT_PER_MM, slot.min_pt
        most, limit = max_lines(size, h_pt, font), w_pt * 1000.0 / size
        # place_lines' baselines for a top-aligned block: first + i * step.
        first, step = box.y * PT_PER_MM + size * font.ascent, size * LEADING
        x, dpp = round(box.x * self.k), self.dots_per_pt
        lines = [self._pieces(x, round((first + i * step) * dpp), size, slot) for i in range(most)]
        lead, widths = self._lead(slot), font.widths.__getitem__

        def zpl(text: str) -> str | None:
            cum = list(accumulate(map(widths, text), initial=0.0))
            spans = None
            if top_size(size, min_pt, area_size(cum[-1], w_pt, h_pt)) == size:
                spans = wrap(text, cum, limit, most)
            if not spans:
                return general(text)
            out = [escape_fd(text[a:b]).join(lines[i]) for i, (a, b) in enumerate(spans)]
            return lead + "\n".join(out)

        return zpl

    def _block(self, fitter: Fitter, index: int) -> SlotZpl:
        """Wrapping slot: fitted by fit_block, drawn without the intermediate objects."""
        slot, font = fitter.layout.slots[index], self.font
        w_pt, h_pt = slot.box.w * PT_PER_MM, slot.box.h * PT_PER_MM
        span, lead, k, dpp = (slot.max_pt, slot.min_pt), self._lead(slot), self.k, self.dots_per_pt

        def zpl(text: str) -> str | None:
            block = TextBlock(slot, *fit_block(text, w_pt, h_pt, span, font))
            dots = round(block.size_pt * dpp)
            head, bold = self.field_head(dots, slot), self.strike(dots, slot)
            lines = [
                strike(round(x * k), round(base * dpp), head, escape_fd(line), bold)
                for line, x, base in place_lines(block, font)
            ]
            return lead + "\n".join(lines)

        return zpl

    def label(self, out: list[bytes], fitter: Fitter, label: LabelData, symbols: bool) -> None:
        """Append ``label``'s format to ``out`` as UTF-8 pieces, each ending in a newline."""
        texts = field_texts(label)
        append = out.append
        append(self._static)
        for index, field, cache in self._plan:
            zpl = cache.get(texts[field])
            if zpl is None:
                zpl = self.slot(fitter, index, texts[field], cache)
            if zpl:
                append(zpl)
        if symbols:
            layout = fitter.layout
            bc, qr = (
                self.barcode(layout.barcode, label.waybill_no),
                self.qr(layout.qr, label.qr_payload),
            )
            append(f"{bc}\n{qr}\n^XZ\n".encode())
        else:
            append(b"^XZ\n")

    def slot(self, fitter: Fitter, index: int, raw: str, cache: dict[str, bytes]) -> bytes:
        """ZPL for one slot, kept in ``cache``: identical texts in a batch are rendered once."""
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        fast, text = self._fast[index], clean_text(raw, self.font)
        zpl = fast(text) if fast is not None and text else None
        if zpl is None:
            zpl = "\n".join(self.text(fitter.place(index, raw)))
        cache[raw] = encoded = (zpl + "\n").encode() if zpl else b""
        return encoded


def _cuts(plan: list[code128.Segment]) -> list[Cut]:
    cuts, start = [], 0
    for i, (subset, text) in enumerate(plan):
        code = (">6" if i else ">:") if subset == "B" else (">5" if i else ">;")
        cuts.append((code, start, start + len(text), subset == "B"))
        start += len(text)
    return cuts


def _cut_fd(cut: Cut, data: str) -> str:
    """One piece of ``code128_fd`` for ``data`` (same digit pattern as the plan)."""
    code, start, stop, subset_b = cut
    text = data[start:stop]
    return code + (text.translate(_BC_SPECIAL) if subset_b else text)


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
    fitter = Fitter(layout, font)
    writer.compile(fitter)
    out: list[bytes] = []
    for i, label in enumerate(labels, 1):
        writer.label(out, fitter, label, symbols)
        if progress:
            progress(i, len(labels))
    return b"".join(out)
