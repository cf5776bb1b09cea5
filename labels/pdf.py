"""PDF back end: the shared layout drawn with reportlab, a page per label, CJK subset embedded."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Sequence

from reportlab.pdfgen.canvas import Canvas

from labels import code128, qr
from labels.fit import PT_PER_MM
from labels.fonts import LabelFont, label_font
from labels.layout import Box, Fitter, Layout, Placed, field_texts, layout_for, placed
from labels.model import LABEL_100x150, LabelData, LabelSize

Progress = Callable[[int, int], None]
# Bars and QR modules snap to whole dots of the common 203 dpi thermal head so that
# a driver rasterising the PDF never widens one bar and narrows the next.
DOT_MM = 25.4 / 203
MAX_BAR_MODULE_MM = 0.6
_STATIC_FORM = "clearway-static"
_BOLD_STROKE = 0.035
# reportlab keeps per-document subset state on the shared TTFont and is not documented as
# thread-safe; API threads rendering at once take turns (the work is GIL-bound anyway).
_RENDER_LOCK = threading.Lock()


def _snap(mm: float) -> float:
    return max(1, math.floor(mm / DOT_MM + 1e-9)) * DOT_MM


class _Page:
    """Draws on one canvas in label millimetres (top-left origin)."""

    def __init__(self, canvas: Canvas, layout: Layout, font: LabelFont) -> None:
        self.c = canvas
        self.height_pt = layout.size.height_mm * PT_PER_MM
        self.font = font

    def y(self, mm: float) -> float:
        return self.height_pt - mm * PT_PER_MM

    def frame(self, layout: Layout) -> None:
        c, f = self.c, layout.frame
        c.setLineWidth(0.8)
        c.rect(f.x * PT_PER_MM, self.y(f.y + f.h), f.w * PT_PER_MM, f.h * PT_PER_MM)
        c.setLineWidth(0.6)
        for x0, y0, x1, y1 in layout.rules:
            c.line(x0 * PT_PER_MM, self.y(y0), x1 * PT_PER_MM, self.y(y1))

    def fill(self, box: Box) -> None:
        w, h = box.w * PT_PER_MM, box.h * PT_PER_MM
        self.c.rect(box.x * PT_PER_MM, self.y(box.y + box.h), w, h, stroke=0, fill=1)

    def text(self, placed: Placed) -> None:
        slot, size = placed.slot, placed.size_pt
        if slot.inverse:
            self.fill(slot.box)
        if not placed.lines:
            return
        t = self.c.beginText()
        t.setFont(self.font.name, size)
        t.setTextRenderMode(2 if slot.bold else 0)
        gray = 1 if slot.inverse else 0
        t.setFillGray(gray)
        t.setStrokeGray(gray)
        for line, x, base in placed.lines:
            t.setTextOrigin(x * PT_PER_MM, self.height_pt - base)
            t.textOut(line)
        self.c.setLineWidth(size * _BOLD_STROKE)
        self.c.drawText(t)

    def barcode(self, box: Box, data: str) -> None:
        bars, modules = code128.bars(data)
        module = _snap(min(MAX_BAR_MODULE_MM, box.w / (modules + 2 * code128.QUIET_MODULES)))
        x0 = _snap(box.x + (box.w - modules * module) / 2)
        ops = [f"{x} 0 {w} 1 re" for x, w in bars]
        self._fill_path(ops, (module, box.h), (x0, box.y + box.h), flip=False)

    def qr(self, box: Box, payload: str) -> None:
        runs, n = qr.qr_runs(payload)
        side = min(box.w, box.h)
        module = _snap(side / (n + 2 * qr.QUIET_MODULES))
        x0 = _snap(box.x + (box.w - n * module) / 2)
        y0 = box.y + (box.h - n * module) / 2
        ops = [f"{x} {y} {w} 1 re" for x, y, w in runs]
        self._fill_path(ops, (module, module), (x0, y0), flip=True)

    def _fill_path(
        self, ops: list[str], unit: tuple[float, float], at: tuple[float, float], flip: bool
    ) -> None:
        """One filled path in integer module units, scaled by a transform: compact and fast."""
        sx, sy = unit[0] * PT_PER_MM, unit[1] * PT_PER_MM
        c = self.c
        c.saveState()
        c.setFillGray(0)
        c.transform(sx, 0, 0, -sy if flip else sy, at[0] * PT_PER_MM, self.y(at[1]))
        c.addLiteral("\n".join(ops) + "\nf")
        c.restoreState()


def _draw_static(canvas: Canvas, layout: Layout, font: LabelFont) -> None:
    page = _Page(canvas, layout, font)
    canvas.beginForm(_STATIC_FORM)
    page.frame(layout)
    for block in layout.captions:
        page.text(placed(block, font))
    canvas.endForm()


def _draw_label(page: _Page, fitter: Fitter, label: LabelData, symbols: bool) -> None:
    page.c.doForm(_STATIC_FORM)
    texts = field_texts(label)
    for i, slot in enumerate(fitter.layout.slots):
        page.text(fitter.place(i, texts[slot.field]))
    if symbols:
        page.barcode(fitter.layout.barcode, label.waybill_no)
        page.qr(fitter.layout.qr, label.qr_payload)
    page.c.showPage()


def render_pdf(
    labels: Sequence[LabelData],
    size: LabelSize = LABEL_100x150,
    *,
    progress: Progress | None = None,
) -> bytes:
    """Render ``labels`` as one PDF, one page of exactly ``size`` per label.

    ``progress(done, total)`` is called after each label.
    """
    return draw_pdf(labels, size, progress=progress)


def draw_pdf(
    labels: Sequence[LabelData],
    size: LabelSize,
    *,
    progress: Progress | None = None,
    symbols: bool = True,
) -> bytes:
    """``render_pdf`` on one canvas; ``symbols=False`` leaves out both barcodes (bench floor)."""
    with _RENDER_LOCK:
        return _draw(labels, size, progress, symbols)


def _canvas(buf: io.BytesIO, size: LabelSize, font: LabelFont) -> Canvas:
    """A compressed, reproducible (``invariant``) canvas whose default font is the label font."""
    pagesize = (size.width_mm * PT_PER_MM, size.height_mm * PT_PER_MM)
    # types-reportlab mistypes initialFontName as float; it is the font's registered name.
    canvas = Canvas(
        buf,
        pagesize=pagesize,
        pageCompression=1,
        invariant=1,
        initialFontName=font.name,  # type: ignore[arg-type]
    )
    canvas.setTitle("Clearway shipping labels")
    return canvas


def _draw(
    labels: Sequence[LabelData], size: LabelSize, progress: Progress | None, symbols: bool
) -> bytes:
    font = label_font()
    layout = layout_for(size, font)
    buf = io.BytesIO()
    canvas = _canvas(buf, size, font)
    _draw_static(canvas, layout, font)
    page, fitter = _Page(canvas, layout, font), Fitter(layout, font)
    for i, label in enumerate(labels, 1):
        _draw_label(page, fitter, label, symbols)
        if progress:
            progress(i, len(labels))
    canvas.save()
    return buf.getvalue()
