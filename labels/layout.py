"""The single label layout (boxes and fields in mm) and the text fitting every back end shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal, NamedTuple

from labels.fit import LEADING, PT_PER_MM, block_height_pt, fit_block, fit_line
from labels.fonts import LabelFont, clean_text, label_font
from labels.model import LabelData, LabelSize, mask_phone

Align = Literal["L", "C", "R"]
VAlign = Literal["T", "M"]


@dataclass(frozen=True)
class Box:
    """Axis-aligned rectangle in mm, origin at the label's top-left corner, y downwards."""

    x: float
    y: float
    w: float
    h: float

    def inset(self, dx: float, dy: float | None = None) -> Box:
        dy = dx if dy is None else dy
        return Box(self.x + dx, self.y + dy, self.w - 2 * dx, self.h - 2 * dy)


@dataclass(frozen=True)
class Slot:
    """A text field: where it goes and how it may be sized."""

    field: str
    box: Box
    max_pt: float
    min_pt: float = 5.0
    align: Align = "L"
    valign: VAlign = "M"
    wrap: bool = False
    bold: bool = False
    inverse: bool = False


class TextBlock(NamedTuple):
    """Fitted text: font size, the lines and their widths (pt), ready to place in ``slot.box``."""

    slot: Slot
    size_pt: float
    lines: tuple[str, ...]
    widths_pt: tuple[float, ...]


@dataclass(frozen=True)
class Layout:
    """Static geometry of one label size: frame, rules, captions, field slots, symbol boxes."""

    size: LabelSize
    frame: Box
    rules: tuple[tuple[float, float, float, float], ...]
    captions: tuple[TextBlock, ...]
    slots: tuple[Slot, ...]
    barcode: Box
    qr: Box


@dataclass(frozen=True)
class BoundLabel:
    """A layout with all of one label's text fitted: for inspection and tests."""

    layout: Layout
    blocks: tuple[TextBlock, ...]
    waybill: str
    qr_payload: str


# Geometry is drawn once on a 100 x 150 grid and scaled to the stock, so both sizes share it.
_BASE_W, _BASE_H = 100.0, 150.0
_ROWS = (2.0, 14.0, 30.0, 58.0, 90.0, 110.0, 134.0, 148.0)
_MARK_X, _INFO_X, _HEAD_X1, _HEAD_X2 = 12.0, 72.0, 24.0, 70.0


class _Grid:
    """Maps base-grid millimetres onto the real stock."""

    def __init__(self, size: LabelSize) -> None:
        self.sx = size.width_mm / _BASE_W
        self.sy = size.height_mm / _BASE_H
        self.font_scale = min(self.sx, self.sy)

    def box(self, x0: float, y0: float, x1: float, y1: float, pad: float = 0.0) -> Box:
        box = Box(x0 * self.sx, y0 * self.sy, (x1 - x0) * self.sx, (y1 - y0) * self.sy)
        return box.inset(pad * self.font_scale) if pad else box

    def rule(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * self.sx, y0 * self.sy, x1 * self.sx, y1 * self.sy)


def _rules(g: _Grid) -> tuple[tuple[float, float, float, float], ...]:
    a, b, c, d, e, f, h, _ = _ROWS
    horizontal = tuple(g.rule(2, y, 98, y) for y in (b, c, d, e, f, h))
    vertical = (
        g.rule(_HEAD_X1, a, _HEAD_X1, b),
        g.rule(_HEAD_X2, a, _HEAD_X2, b),
        g.rule(_HEAD_X2, 8, 98, 8),
        g.rule(_MARK_X, d, _MARK_X, f),
        g.rule(_INFO_X, f, _INFO_X, 148),
    )
    return horizontal + vertical


def _caption_slots(g: _Grid) -> tuple[tuple[Slot, str], ...]:
    d, e, f, h = _ROWS[3], _ROWS[4], _ROWS[5], _ROWS[6]
    big = 22 * g.font_scale
    return (
        (Slot("", g.box(2, d, _MARK_X, e, 1), big, align="C", bold=True), "收"),
        (Slot("", g.box(2, e, _MARK_X, f, 1), big, align="C", bold=True), "寄"),
        (Slot("", g.box(2, h, 40, h + 4.5, 0.6), 7 * g.font_scale), "退货地址 RETURN TO"),
        (Slot("", g.box(_INFO_X, h, 98, h + 5, 0.6), 7 * g.font_scale), "签收人:"),
        (Slot("", g.box(_INFO_X, h + 7, 98, 148, 0.6), 7 * g.font_scale), "签收时间:"),
    )


def _paragraph(field: str, box: Box, max_pt: float) -> Slot:
    """A top-aligned, wrapping slot that may shrink far (long Chinese addresses)."""
    return Slot(field, box, max_pt, min_pt=4.0, valign="T", wrap=True)


def _slots(g: _Grid) -> tuple[Slot, ...]:
    a, b, c, d, e, f, h, end = _ROWS
    k = g.font_scale
    status_box = g.box(_HEAD_X1, a, _HEAD_X2, b, 1.2)
    return (
        Slot("warehouse", g.box(2, a, _HEAD_X1, b, 1), 26 * k, align="C", bold=True),
        Slot("status", status_box, 15 * k, align="C", wrap=True, bold=True, inverse=True),
        Slot("date", g.box(_HEAD_X2, a, 98, 8, 0.8), 9 * k, align="C"),
        Slot("parcel", g.box(_HEAD_X2, 8, 98, b, 0.6), 13 * k, align="C", bold=True),
        Slot("sort", g.box(2, b, 98, c, 1), 46 * k, align="C", bold=True),
        Slot("waybill", g.box(4, c + 20, 96, d, 0.5), 16 * k, align="C", bold=True),
        Slot("consignee", g.box(_MARK_X, d, 98, d + 8, 1), 14 * k, bold=True),
        _paragraph("address", g.box(_MARK_X, d + 7, 98, e, 1), 13 * k),
        Slot("sender", g.box(_MARK_X, e, 98, e + 6, 0.8), 10 * k),
        _paragraph("sender_address", g.box(_MARK_X, e + 5.5, 98, f, 0.8), 9 * k),
        Slot("order", g.box(2, f + 1, _INFO_X, f + 8, 1), 10 * k),
        Slot("invt", g.box(2, f + 8.5, _INFO_X, f + 15.5, 1), 10 * k),
        Slot("weight", g.box(2, f + 16, _INFO_X, h, 1), 10 * k),
        _paragraph("return", g.box(2, h + 4.5, _INFO_X, end, 0.6), 8 * k),
    )


@lru_cache(maxsize=16)
def _layout(size: LabelSize, font: LabelFont) -> Layout:
    g = _Grid(size)
    c = _ROWS[2]
    f, h = _ROWS[5], _ROWS[6]
    return Layout(
        size=size,
        frame=g.box(2, 2, 98, 148),
        rules=_rules(g),
        captions=tuple(fit_slot(slot, text, font) for slot, text in _caption_slots(g)),
        slots=_slots(g),
        barcode=g.box(3, c + 1.5, 97, c + 20),
        qr=g.box(_INFO_X, f, 98, h, 1),
    )


def layout_for(size: LabelSize, font: LabelFont | None = None) -> Layout:
    """The layout for ``size`` (computed once per size and font)."""
    return _layout(size, font or label_font())


def fit_slot(slot: Slot, text: str, font: LabelFont) -> TextBlock:
    """Fit already-cleaned ``text`` into ``slot`` using the font's real metrics."""
    w_pt, h_pt = slot.box.w * PT_PER_MM, slot.box.h * PT_PER_MM
    fitter = fit_block if slot.wrap else fit_line
    return TextBlock(slot, *fitter(text, w_pt, h_pt, (slot.max_pt, slot.min_pt), font))


def block_fits(block: TextBlock, font: LabelFont | None = None) -> bool:
    """The measurement check: every line fits the slot width and the block its height."""
    font = font or label_font()
    box = block.slot.box
    limit = box.w * PT_PER_MM + 1e-6
    width_ok = all(font.width_pt(ln, block.size_pt) <= limit for ln in block.lines)
    height = block_height_pt(block.size_pt, max(1, len(block.lines)), font)
    return width_ok and height <= box.h * PT_PER_MM + 1e-6


def _weight(kg: Decimal) -> str:
    """``kg`` without trailing zeros, never in exponent form: 1.250 -> 1.25kg, 120 -> 120kg."""
    plain = str(kg)
    if "." in plain and "E" not in plain:  # the common case, without Decimal arithmetic
        return f"{plain.rstrip('0').rstrip('.')}kg"
    return f"{format(kg.normalize(), 'f')}kg"


@lru_cache(maxsize=64)
def _iso(day: date) -> str:
    """A batch prints one date, formatted once."""
    return day.isoformat()


# Slots whose text follows from ``wave_key`` alone: what the labels of one wave (a warehouse,
# a day, a sender) share, so a back end may fit them once per wave.
WAVE_FIELDS = (
    "warehouse",
    "status",
    "date",
    "parcel",
    "sort",
    "sender",
    "sender_address",
    "return",
)
# The other slots, in the order of ``parcel_texts``.
PARCEL_FIELDS = ("waybill", "consignee", "address", "order", "invt", "weight")


def wave_key(label: LabelData) -> tuple[object, ...]:
    """Everything the WAVE_FIELDS texts are made of: equal keys give equal texts."""
    return (
        label.warehouse_code,
        label.customs_status,
        label.print_date,
        label.parcel_index,
        label.parcel_count,
        label.sort_code,
        label.carrier_name,
        label.sender_name,
        label.sender_address,
        label.return_address,
    )


def wave_texts(label: LabelData) -> dict[str, str]:
    """The text of every WAVE_FIELDS slot for ``label``."""
    return {
        # The carrier's name heads the label beside the warehouse when the warehouse has one.
        "warehouse": f"{label.carrier_name} {label.warehouse_code}"
        if label.carrier_name
        else label.warehouse_code,
        "status": label.customs_status,
        "date": _iso(label.print_date),
        "parcel": f"{label.parcel_index}/{label.parcel_count}",
        "sort": label.sort_code or "",
        "sender": label.sender_name,
        "sender_address": label.sender_address,
        "return": label.return_address,
    }


def parcel_texts(label: LabelData) -> tuple[str, str, str, str, str, str]:
    """The texts of the PARCEL_FIELDS slots for ``label``, in that order."""
    return (
        label.waybill_no,
        # One space: what cleaning leaves of two, and clean text takes the quick path.
        f"{label.consignee_name} {mask_phone(label.consignee_phone)}",
        label.consignee_address,
        f"订单号 {label.order_no}",
        f"清单号 {label.invt_no or '未生成'}",
        f"重量 {_weight(label.weight_kg)} 件数 {label.parcel_index}/{label.parcel_count}",
    )


def field_texts(label: LabelData) -> dict[str, str]:
    """The text of every slot for ``label`` (before cleaning and fitting)."""
    return wave_texts(label) | dict(zip(PARCEL_FIELDS, parcel_texts(label), strict=True))


def bind(label: LabelData, layout: Layout, font: LabelFont) -> BoundLabel:
    """Fit all of ``label``'s texts into ``layout`` (the back ends use ``Fitter`` instead)."""
    texts = field_texts(label)
    blocks = tuple(fit_slot(s, clean_text(texts[s.field], font), font) for s in layout.slots)
    return BoundLabel(layout, blocks, label.waybill_no, label.qr_payload)


_ALIGN = {"L": 0.0, "C": 0.5, "R": 1.0}


def place_lines(block: TextBlock, font: LabelFont) -> list[tuple[str, float, float]]:
    """(line, left x in mm, baseline below the label top in pt) for every line of ``block``."""
    slot, size = block.slot, block.size_pt
    box = slot.box
    top = box.y * PT_PER_MM
    if slot.valign == "M":
        top += (box.h * PT_PER_MM - block_height_pt(size, len(block.lines), font)) / 2
    first, step, align = top + size * font.ascent, size * LEADING, _ALIGN[slot.align]
    return [
        (line, box.x + (box.w - width / PT_PER_MM) * align, first + i * step)
        for i, (line, width) in enumerate(zip(block.lines, block.widths_pt, strict=True))
    ]


class Placed(NamedTuple):
    """Fitted text ready to draw: size and (line, left x mm, baseline pt below the top)."""

    slot: Slot
    size_pt: float
    lines: list[tuple[str, float, float]]


class LineConst(NamedTuple):
    """Per-slot constants so one-line slots fit and place in a few arithmetic steps."""

    w_pt: float
    h_pt: float
    span: tuple[float, float]
    x_mm: float
    w_mm: float
    align: float
    base0_pt: float
    base_k: float


def _line_const(slot: Slot, font: LabelFont) -> LineConst:
    box = slot.box
    top, h_pt = box.y * PT_PER_MM, box.h * PT_PER_MM
    em = font.ascent - font.descent
    # Baseline of a single line: top + (h - size*em)/2 + size*ascent when centred.
    base0, base_k = (
        (top + h_pt / 2, font.ascent - em / 2) if slot.valign == "M" else (top, font.ascent)
    )
    return LineConst(
        box.w * PT_PER_MM,
        h_pt,
        (slot.max_pt, slot.min_pt),
        box.x,
        box.w,
        _ALIGN[slot.align],
        base0,
        base_k,
    )


class Fitter:
    """Fits and places label text for one layout: the per-label hot path of both back ends."""

    def __init__(self, layout: Layout, font: LabelFont) -> None:
        self.layout, self.font = layout, font
        self._consts = [_line_const(slot, font) for slot in layout.slots]

    def line_const(self, index: int) -> LineConst:
        """The precomputed geometry of slot ``index`` for one-line fitting."""
        return self._consts[index]

    def place(self, index: int, raw: str) -> Placed:
        """Clean, fit and place ``raw`` in slot ``index``; same result as fit_slot + place_lines."""
        slot, font = self.layout.slots[index], self.font
        text = clean_text(raw, font)
        if not text:
            return Placed(slot, slot.max_pt, [])
        if slot.wrap:
            block = fit_slot(slot, text, font)
            return Placed(slot, block.size_pt, place_lines(block, font))
        c = self._consts[index]
        size, lines, widths = fit_line(text, c.w_pt, c.h_pt, c.span, font)
        x = c.x_mm + (c.w_mm - widths[0] / PT_PER_MM) * c.align
        return Placed(slot, size, [(lines[0], x, c.base0_pt + size * c.base_k)])


def placed(block: TextBlock, font: LabelFont) -> Placed:
    """A fitted block (e.g. a static caption) in drawing form."""
    return Placed(block.slot, block.size_pt, place_lines(block, font))
