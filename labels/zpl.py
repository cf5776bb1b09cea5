"""ZPL II back end for Zebra printers (203/300 dpi): the shared layout, one ^XA..^XZ per label."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from itertools import accumulate
from typing import Literal

from labels import code128, qr
from labels.fit import (
    LEADING,
    PT_PER_MM,
    SIZE_STEP_PT,
    max_lines,
    most_units_at_top,
    threshold,
    wrap,
)
from labels.fonts import LabelFont, byte_widths, label_font
from labels.layout import (
    PARCEL_FIELDS,
    WAVE_FIELDS,
    Box,
    Fitter,
    Layout,
    LineConst,
    Placed,
    Slot,
    layout_for,
    parcel_texts,
    placed,
    wave_key,
    wave_texts,
)
from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.zplbitmap import bold_dots, graphic_field

CjkMode = Literal["bitmap", "resident"]
Progress = Callable[[int, int], None]
# ZPL of a slot for its raw text.
SlotZpl = Callable[[str], bytes]
# Code 128 plan pieces: (start code, start, stop, escape them) over the data's characters.
Cut = tuple[str, int, int, bool]
DEFAULT_RESIDENT_FONT = "E:SIMSUN.TTF"
MAX_BAR_MODULE_MM = 0.6
LINE_DOTS_MM = 0.25
# In subset B these three are ZPL syntax, so ^BC wants their invocation codes instead.
_BC_SPECIAL = str.maketrans({">": ">0", "^": "><", "~": ">="})
# Drive letter and file name only: the name is spliced into ^A@ unescaped.
_FONT_NAME = re.compile(r"[A-Z]:[A-Za-z0-9_.-]{1,60}")
# The subset plan depends only on where the digits are, so it is cached per digit pattern.
_DIGIT_PATTERN = bytes.maketrans(b"0123456789", b"0000000000")


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
    return len(qr.qr_rows("a" * n_bytes))


def valid_resident_font(name: str) -> bool:
    """Whether ``name`` is a printer font path ZPL's ^A@ can take safely (E:SIMSUN.TTF)."""
    return _FONT_NAME.fullmatch(name) is not None


def _check_options(dpi: int, cjk: str, resident_font: str) -> None:
    if cjk not in ("bitmap", "resident"):
        raise ValueError(f"cjk must be 'bitmap' or 'resident', got {cjk!r}")
    if not 100 <= dpi <= 600:
        raise ValueError(f"dpi {dpi} is not a label printer resolution (203, 300, 600)")
    if not valid_resident_font(resident_font):
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
        self._static = b""
        # The wave's pieces around the parcel slots, and the wave they were rendered for.
        self._wave_slots: list[int] = []
        self._parcel_slots: list[int] = []
        self._wave: list[bytes] = []
        self._wave_key: tuple[object, ...] | None = None
        # Each parcel slot's renderer, in PARCEL_FIELDS order.
        self._own: tuple[SlotZpl, ...] = ()
        self._resident_cmd: dict[int, str] = {}
        self._barcodes: dict[bytes, tuple[str, list[Cut]]] = {}
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

    def barcode(self, box: Box, data: str) -> bytes:
        pattern = data.encode().translate(_DIGIT_PATTERN)
        found = self._barcodes.get(pattern)
        if found is None:
            found = self._barcodes[pattern] = self._barcode_plan(box, data)
        head, cuts = found
        fd = "".join(
            [c + (data[a:b].translate(_BC_SPECIAL) if x else data[a:b]) for c, a, b, x in cuts]
        )
        return f"{head}{fd}^FS\n".encode()

    def _barcode_plan(self, box: Box, data: str) -> tuple[str, list[Cut]]:
        """The ^BC command up to its field data, and where the data switches subset."""
        plan = code128.segments(data)
        modules = code128.width_modules(plan)
        quiet = 2 * code128.QUIET_MODULES
        module = max(1, min(self.d(MAX_BAR_MODULE_MM), self.d(box.w) // (modules + quiet)))
        x = self.d(box.x) + (self.d(box.w) - modules * module) // 2
        h = self.d(box.h)
        return f"^FO{x},{self.d(box.y)}^BY{module},3,{h}^BCN,{h},N,N,N,N^FD", _cuts(plan)

    def qr(self, box: Box, payload: str) -> bytes:
        n_bytes = len(payload) if payload.isascii() else len(payload.encode())
        head = self._qr_heads.get(n_bytes) or self._qr_head(box, n_bytes)
        return f"{head}{escape_fd(payload)}^FS\n".encode()

    def _qr_head(self, box: Box, n_bytes: int) -> str:
        n = qr_size(n_bytes)
        side = min(self.d(box.w), self.d(box.h))
        mag = max(1, min(10, side // (n + 2 * qr.QUIET_MODULES)))
        x = self.d(box.x) + (self.d(box.w) - n * mag) // 2
        y = self.d(box.y) + (self.d(box.h) - n * mag) // 2
        head = self._qr_heads[n_bytes] = f"^FO{x},{y}^BQN,2,{mag}^FH^FDMA,"
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
        """Prepare each slot's template (they need resident fonts) and the wave plan."""
        slots = fitter.layout.slots
        self._static = (self.static(fitter.layout) + "\n").encode()
        self._fast = [self._template(fitter, i) for i in range(len(slots))]
        fields = [slot.field for slot in slots]
        self._parcel_slots = [fields.index(field) for field in PARCEL_FIELDS]
        if self._parcel_slots != sorted(self._parcel_slots):
            raise ValueError("the layout must place the parcel fields in PARCEL_FIELDS order")
        self._wave_slots = [i for i, field in enumerate(fields) if field in WAVE_FIELDS]
        self._own = tuple(
            self._fast[i] or partial(self.general, fitter, i) for i in self._parcel_slots
        )
        self._wave_key = None

    def _template(self, fitter: Fitter, index: int) -> SlotZpl | None:
        """The slot's ZPL for the common case, prepared once: text already clean that fits
        at the slot's top size. Any other text goes to ``general``, which prints the same."""
        slot = fitter.layout.slots[index]
        if self.cjk != "resident" or (slot.wrap and (slot.align, slot.valign) != ("L", "T")):
            return None
        general = partial(self.general, fitter, index)
        if slot.wrap:
            return self._paragraph(slot, general)
        return self._line(fitter, index, general)

    def _lead(self, slot: Slot) -> str:
        """What precedes a slot's lines: the black box behind reversed text."""
        box = slot.box
        return self.box(box, min(self.d(box.w), self.d(box.h))) + "\n" if slot.inverse else ""

    def _pieces(self, x: int, base: int, size_pt: float, slot: Slot) -> list[bytes]:
        """A line's ZPL split where its (escaped, encoded) text goes: ``text.join(pieces)``."""
        dots = round(size_pt * self.dots_per_pt)
        line = strike(x, base, self.field_head(dots, slot), "\0", self.strike(dots, slot))
        return (line + "\n").encode().split(b"\0")

    def _line(self, fitter: Fitter, index: int, general: SlotZpl) -> SlotZpl:
        """One-line slot: text that fits at the slot's top size needs no fitting, only its
        width for the alignment (none when left-aligned)."""
        slot, c, font = fitter.layout.slots[index], fitter.line_const(index), self.font
        # The same expressions as fit_line and Fitter.place, so the output is identical.
        top = min(c.span[0], c.h_pt / (font.ascent - font.descent))
        size = max(c.span[1], math.floor(top / SIZE_STEP_PT) * SIZE_STEP_PT)
        base = round((c.base0_pt + size * c.base_k) * self.dots_per_pt)
        if c.align != 0.0:
            return self._aligned(slot, c, (top, size, base), general)
        pieces = self._pieces(round(c.x_mm * self.k), base, size, slot)
        pieces[0] = self._lead(slot).encode() + pieces[0]
        table, irregular, w_pt = byte_widths(font), byte_widths(font).irregular.search, c.w_pt
        widths = table.widths.__getitem__
        # What fit_line needs to keep the top size: w_pt * 1000 / units >= top and the
        # width at ``size`` within w_pt, both monotonic in units, so one threshold.
        most = threshold(
            lambda u: not u or (w_pt * 1000.0 / u >= top and u * size / 1000.0 <= w_pt)
        )

        def left(text: str) -> bytes:
            # clean_text's quick check first (irregular finds all it would change), so the
            # text is clean, and measured by the byte table.
            if text and irregular(text) is None and "  " not in text and text.strip(" ") == text:
                if (sum(map(widths, text.encode("latin-1", "replace"))) or 1.0) <= most:
                    if "_" in text or "^" in text or "~" in text:
                        text = escape_fd(text)
                    return text.encode().join(pieces)
            return general(text)

        return left

    def _aligned(
        self, slot: Slot, c: LineConst, fit: tuple[float, float, int], general: SlotZpl
    ) -> SlotZpl:
        """The one-line template for centred or right-aligned text (x follows its width)."""
        (top, size, base), k, font = fit, self.k, self.font
        dots = round(size * self.dots_per_pt)
        lead, head, bold = self._lead(slot), self.field_head(dots, slot), self.strike(dots, slot)
        w_pt, x_mm, w_mm, align = c.w_pt, c.x_mm, c.w_mm, c.align
        widths, irregular = byte_widths(font).widths.__getitem__, byte_widths(font).irregular.search
        most = threshold(
            lambda u: not u or (w_pt * 1000.0 / u >= top and u * size / 1000.0 <= w_pt)
        )

        def aligned(text: str) -> bytes:
            if text and irregular(text) is None and "  " not in text and text.strip(" ") == text:
                units = sum(map(widths, text.encode("latin-1", "replace"))) or 1.0
                if units <= most:
                    width = units * size / 1000.0
                    x = round((x_mm + (w_mm - width / PT_PER_MM) * align) * k)
                    if "_" in text or "^" in text or "~" in text:
                        text = escape_fd(text)
                    field = f"{head}{text}^FS"  # strike(), inlined
                    if bold:
                        return f"{lead}^FT{x},{base}{field}\n^FT{x + bold},{base}{field}\n".encode()
                    return f"{lead}^FT{x},{base}{field}\n".encode()
            return general(text)

        return aligned

    def _paragraph(self, slot: Slot, general: SlotZpl) -> SlotZpl:
        """Top-left wrapping slot: text that wraps at the slot's largest size takes prepared
        line templates."""
        box, size, font = slot.box, slot.max_pt, self.font
        w_pt, h_pt = box.w * PT_PER_MM, box.h * PT_PER_MM
        most, limit = max_lines(size, h_pt, font), w_pt * 1000.0 / size
        # place_lines' baselines for a top-aligned block: first + i * step.
        first, step = box.y * PT_PER_MM + size * font.ascent, size * LEADING
        x, dpp = round(box.x * self.k), self.dots_per_pt
        lines = [self._pieces(x, round((first + i * step) * dpp), size, slot) for i in range(most)]
        lead, table = self._lead(slot).encode(), byte_widths(font)
        widths, irregular = table.widths.__getitem__, table.irregular.search
        most_units = most_units_at_top(size, slot.min_pt, w_pt, h_pt)

        def paragraph(text: str) -> bytes:
            if text and irregular(text) is None and "  " not in text and text.strip(" ") == text:
                cum = list(accumulate(map(widths, text.encode("latin-1", "replace")), initial=0.0))
                spans = wrap(text, cum, limit, most) if cum[-1] <= most_units else None
                if spans and ("_" in text or "^" in text or "~" in text):
                    out = [
                        escape_fd(text[a:b]).encode().join(lines[i])
                        for i, (a, b) in enumerate(spans)
                    ]
                    return lead + b"".join(out)
                if spans:
                    out = [text[a:b].encode().join(lines[i]) for i, (a, b) in enumerate(spans)]
                    return lead + b"".join(out)
            return general(text)

        return paragraph

    def label(self, out: list[bytes], fitter: Fitter, label: LabelData, symbols: bool) -> None:
        """Append ``label``'s format to ``out`` as pieces, each ending in a newline."""
        key = wave_key(label)
        if key != self._wave_key:
            self._wave = self.wave(fitter, label)
            self._wave_key = key
        w, (r0, r1, r2, r3, r4, r5) = self._wave, self._own
        t0, t1, t2, t3, t4, t5 = parcel_texts(label)
        # Spelled out for the six PARCEL_FIELDS: this is the per-label hot path.
        out += (w[0], r0(t0), w[1], r1(t1), w[2], r2(t2), w[3], r3(t3), w[4], r4(t4), w[5], r5(t5))
        if symbols:
            layout = fitter.layout
            out += (w[6], self.barcode(layout.barcode, label.waybill_no))
            out += (self.qr(layout.qr, label.qr_payload), b"^XZ\n")
        else:
            out += (w[6], b"^XZ\n")

    def wave(self, fitter: Fitter, label: LabelData) -> list[bytes]:
        """The static part and the wave's slots, cut where the parcel slots go."""
        texts = wave_texts(label)
        pieces = {
            i: self.slot(fitter, i, texts[fitter.layout.slots[i].field]) for i in self._wave_slots
        }
        cuts, start = [], 0
        for stop in [*self._parcel_slots, len(fitter.layout.slots)]:
            cuts.append(b"".join([pieces[i] for i in range(start, stop)]))
            start = stop + 1
        cuts[0] = self._static + cuts[0]
        return cuts

    def slot(self, fitter: Fitter, index: int, raw: str) -> bytes:
        """ZPL for ``raw`` in slot ``index`` (newline-terminated, or empty)."""
        fast = self._fast[index]
        return self.general(fitter, index, raw) if fast is None else fast(raw)

    def general(self, fitter: Fitter, index: int, raw: str) -> bytes:
        """The slot by the general fitting, as every template must print it."""
        zpl = "\n".join(self.text(fitter.place(index, raw)))
        return f"{zpl}\n".encode() if zpl else b""


def _cuts(plan: list[code128.Segment]) -> list[Cut]:
    """The plan as pieces of the data, and whether each needs the subset B escapes: that
    depends only on the non-digits, so it holds for every data of the same digit pattern."""
    cuts, start = [], 0
    for i, (subset, text) in enumerate(plan):
        code = (">6" if i else ">:") if subset == "B" else (">5" if i else ">;")
        special = subset == "B" and text.translate(_BC_SPECIAL) != text
        cuts.append((code, start, start + len(text), special))
        start += len(text)
    return cuts


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
