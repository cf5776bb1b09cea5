"""Rasterises the ZPL subset our back end emits, so ZPL can be previewed and scanned offline."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from labels import code128, qr
from labels.fonts import label_font

_HEX_ESCAPE = re.compile(rb"_([0-9A-Fa-f]{2})")
_BC_INVOKE = {":": 104, ";": 105, "5": 99, "6": 100, "<": 62, "=": 94, "0": 30}
_BC_SUBSET = {104: "B", 105: "C", 99: "C", 100: "B"}
Painter = Callable[[ImageDraw.ImageDraw, Image.Image], None]


class ZplViewError(ValueError):
    """The ZPL uses something outside the subset this viewer understands."""


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(label_font().path, max(1, size), index=0)


def bc_values(data: str) -> list[int]:
    """Symbol values (with check and stop) of ^BC field data written with invocation codes."""
    values: list[int] = []
    subset, i = "B", 0
    while i < len(data):
        if data[i] == ">" and i + 1 < len(data):
            value = _BC_INVOKE[data[i + 1]]
            subset = _BC_SUBSET.get(value, subset)
            values.append(value)
            i += 2
        elif subset == "C":
            values.append(int(data[i : i + 2]))
            i += 2
        else:
            values.append(ord(data[i]) - 32)
            i += 1
    if not values or values[0] not in (code128.START_B, code128.START_C):
        values.insert(0, code128.START_B)
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], 1))) % 103
    return [*values, check, code128.STOP]


def gf_bytes(data: str, row_bytes: int, total: int) -> bytes:
    """Expand ^GFA hex using the ',' (zero the rest of the row) and ':' (repeat row) shorthands."""
    rows: list[str] = []
    width = row_bytes * 2
    for token in re.findall(r"[0-9A-Fa-f]+,?|,|:", data):
        if token == ":":
            rows.append(rows[-1])
            continue
        body = token.rstrip(",")
        chunks = [body[i : i + width] for i in range(0, len(body), width)] or [""]
        rows += [c.ljust(width, "0") for c in chunks]
    return bytes.fromhex("".join(rows))[:total].ljust(total, b"\0")


@dataclass
class _Field:
    x: int = 0
    y: int = 0
    baseline: bool = False
    reverse: bool = False
    hex: bool = False
    font: int = 30
    kind: str = "text"
    params: list[str] = field(default_factory=list)
    data: str = ""


class _Label:
    """Ink plane (non-zero = dot burnt) plus the ZPL state needed to draw fields."""

    def __init__(self, width: int, height: int) -> None:
        self.ink = Image.new("1", (width, height), 0)
        self.module, self.bar_height = 2, 10

    def paint(self, reverse: bool, painter: Painter) -> None:
        mask = Image.new("1", self.ink.size, 0)
        painter(ImageDraw.Draw(mask), mask)
        merge = ImageChops.logical_xor if reverse else ImageChops.logical_or
        self.ink = merge(self.ink, mask)

    def field(self, f: _Field) -> None:
        painters = {
            "text": self._text,
            "GB": self._box,
            "GF": self._graphic,
            "BC": self._code128,
            "BQ": self._qr,
        }
        painter = painters[f.kind]
        self.paint(f.reverse, lambda draw, mask: painter(f, draw, mask))

    def _text(self, f: _Field, draw: ImageDraw.ImageDraw, _m: Image.Image) -> None:
        anchor = "ls" if f.baseline else "la"
        draw.text((f.x, f.y), f.data, font=_font(f.font), fill=1, anchor=anchor)

    def _box(self, f: _Field, draw: ImageDraw.ImageDraw, _m: Image.Image) -> None:
        w, h, t = (int(p) for p in f.params[:3])
        draw.rectangle([f.x, f.y, f.x + w - 1, f.y + h - 1], fill=1)
        if 2 * t < min(w, h):
            draw.rectangle([f.x + t, f.y + t, f.x + w - 1 - t, f.y + h - 1 - t], fill=0)

    def _graphic(self, f: _Field, _d: ImageDraw.ImageDraw, mask: Image.Image) -> None:
        total, row = int(f.params[1]), int(f.params[3])
        raw = gf_bytes(",".join(f.params[4:]), row, total)
        mask.paste(Image.frombytes("1", (row * 8, total // row), raw), (f.x, f.y))

    def _code128(self, f: _Field, draw: ImageDraw.ImageDraw, _m: Image.Image) -> None:
        height = int(f.params[1]) if len(f.params) > 1 and f.params[1] else self.bar_height
        x = f.x
        for value in bc_values(f.data):
            for i, w in enumerate(code128.pattern(value)):
                if i % 2 == 0:
                    draw.rectangle([x, f.y, x + w * self.module - 1, f.y + height - 1], fill=1)
                x += w * self.module

    def _qr(self, f: _Field, draw: ImageDraw.ImageDraw, _m: Image.Image) -> None:
        mag = int(f.params[2])
        ecc, payload = f.data.split(",", 1)
        for r, row in enumerate(qr.qr_rows(payload, ecc[0].upper())):
            for c, module in enumerate(row):
                if qr.is_dark(module):
                    x, y = f.x + c * mag, f.y + r * mag
                    draw.rectangle([x, y, x + mag - 1, y + mag - 1], fill=1)


def _decode_fd(data: str, hex_escapes: bool) -> str:
    if not hex_escapes:
        return data
    raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data.encode("utf-8"))
    return raw.decode("utf-8", errors="replace")


def _origin(f: _Field, arg: str, baseline: bool) -> None:
    x, y = arg.split(",")[:2]
    f.x, f.y, f.baseline = int(x), int(y), baseline


def _kind(f: _Field, kind: str, arg: str) -> None:
    f.kind, f.params = kind, arg.split(",")


def _bar_defaults(label: _Label, arg: str) -> None:
    params = arg.split(",")
    label.module = int(params[0])
    if len(params) > 2 and params[2]:
        label.bar_height = int(params[2])


_IGNORED = frozenset({"XA", "CI", "PW", "LL", "LH"})
_FIELD_COMMANDS: dict[str, Callable[[_Field, str], None]] = {
    "FO": lambda f, a: _origin(f, a, False),
    "FT": lambda f, a: _origin(f, a, True),
    "FR": lambda f, _a: setattr(f, "reverse", True),
    "FH": lambda f, _a: setattr(f, "hex", True),
    "A@": lambda f, a: setattr(f, "font", int(a.split(",")[1])),
    "A0": lambda f, a: setattr(f, "font", int(a.split(",")[1])),
    "GB": lambda f, a: _kind(f, "GB", a),
    "GF": lambda f, a: _kind(f, "GF", a),
    "BC": lambda f, a: _kind(f, "BC", a),
    "BQ": lambda f, a: _kind(f, "BQ", a),
    "FD": lambda f, a: setattr(f, "data", _decode_fd(a, f.hex)),
}


def _dimension(zpl: str, command: str) -> int:
    found = re.search(rf"\^{command}(\d+)", zpl)
    if not found:
        raise ZplViewError(f"label format has no ^{command}")
    return int(found.group(1))


def zpl_image(zpl: bytes) -> Image.Image:
    """The first ^XA..^XZ format of ``zpl`` as a greyscale image, one pixel per printer dot."""
    text = zpl.decode("utf-8")
    label = _Label(_dimension(text, "PW"), _dimension(text, "LL"))
    f = _Field()
    for token in text.split("^")[1:]:
        cmd, arg = token[:2], token[2:].rstrip("\r\n")
        if cmd == "XZ":
            break
        if cmd == "FS":
            if f.kind != "text" or f.data:
                label.field(f)
            f = _Field()
        elif cmd == "BY":
            _bar_defaults(label, arg)
        elif cmd in _FIELD_COMMANDS:
            _FIELD_COMMANDS[cmd](f, arg)
        elif cmd not in _IGNORED:
            raise ZplViewError(f"^{cmd} is outside the previewable ZPL subset")
    return ImageOps.invert(label.ink.convert("L"))


def zpl_to_png(zpl: bytes) -> bytes:
    """PNG of the first label format in ``zpl``."""
    buf = io.BytesIO()
    zpl_image(zpl).save(buf, format="PNG", optimize=False)
    return buf.getvalue()
