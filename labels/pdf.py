"""PDF back end: draws bound layouts with reportlab, one page per label, CJK font subset embedded."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence

from reportlab.pdfgen.canvas import Canvas

from labels import code128, qr
from labels.fit import PT_PER_MM
from labels.fonts import LabelFont, label_font
from labels.layout import BoundLabel, Box, Layout, TextBlock, bind, layout_for, place_lines
from labels.model import LABEL_100x150, LabelData, LabelSize

Progress = Callable[[int, int], None]
# Bars and QR modules snap to whole dots of the common 203 dpi thermal head so that
# a driver rasterising the PDF never widens one bar and narrows the next.
DOT_MM = 25.4 / 203
MAX_BAR_MODULE_MM = 0.6
_STATIC_FORM = "clearway-static"
_BOLD_STROKE = 0.035


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

    def text(self, block: TextBlock) -> None:
        box, slot = block.slot.box, block.slot
        if slot.inverse:
            self.c.rect(
                box.x * PT_PER_MM,
                self.y(box.y + box.h),
                box.w * PT_PER_MM,
                box.h * PT_PER_MM,
                stroke=0,
                fill=1,
            )
        t = self.c.beginText()
        t.setFont(self.font.name, block.size_pt, block.line_pt)
        t.setTextRenderMode(2 if slot.bold else 0)
        gray = 1 if slot.inverse else 0
        t.setFillGray(gray)
        t.setStrokeGray(gray)
        for line, x, base in place_lines(block, self.font):
            t.setTextOrigin(x * PT_PER_MM, self.y(0) - base)
            t.textOut(line)
        self.c.setLineWidth(block.size_pt * _BOLD_STROKE)
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
        page.text(block)
    canvas.endForm()


def _draw_label(page: _Page, bound: BoundLabel, symbols: bool) -> None:
    page.c.doForm(_STATIC_FORM)
    for block in bound.blocks:
        page.text(block)
    if symbols:
        page.barcode(bound.layout.barcode, bound.waybill)
        page.qr(bound.layout.qr, bound.qr_payload)
    page.c.showPage()


def render_pdf(
    labels: Sequence[LabelData],
    size: LabelSize = LABEL_100x150,
    progress: Progress | None = None,
) -> bytes:
    """Render ``labels`` as one PDF, one page of exactly ``size`` per label."""
    return draw_pdf(labels, size, progress)


def draw_pdf(
    labels: Sequence[LabelData],
    size: LabelSize,
    progress: Progress | None = None,
    *,
    symbols: bool = True,
) -> bytes:
    """``render_pdf`` on one canvas; ``symbols=False`` leaves out both barcodes (bench floor)."""
    font = label_font()
    layout = layout_for(size, font)
    buf = io.BytesIO()
    pagesize = (size.width_mm * PT_PER_MM, size.height_mm * PT_PER_MM)
    canvas = Canvas(
        buf, pagesize=pagesize, pageCompression=1, invariant=1, initialFontName=font.name
    )
    canvas.setTitle("Clearway shipping labels")
    _draw_static(canvas, layout, font)
    page = _Page(canvas, layout, font)
    for i, label in enumerate(labels, 1):
        _draw_label(page, bind(label, layout, font), symbols)
        if progress:
            progress(i, len(labels))
    canvas.save()
    return buf.getvalue()
