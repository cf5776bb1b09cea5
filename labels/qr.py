"""QR matrix via zxing-cpp's C++ encoder, flattened into horizontal runs of dark modules."""

from __future__ import annotations

import re

import zxingcpp

QR_ERROR = "M"
QUIET_MODULES = 2
_DARK = 0  # zxing-cpp paints dark modules black (0) on white (255)
_DARK_RUN = re.compile(b"\x00+")


def qr_rows(payload: str, error: str = QR_ERROR) -> list[bytes]:
    """The symbol's rows without border, one byte per module: 0 dark, 255 light."""
    symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=error)
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    side = image.shape[1]
    # zxing-cpp's Image implements the buffer protocol; its type stubs do not declare it.
    modules = bytes(image)  # type: ignore[call-overload]
    return [modules[row * side : (row + 1) * side] for row in range(image.shape[0])]


def is_dark(module: int) -> bool:
    return module == _DARK


def qr_runs(payload: str) -> tuple[list[tuple[int, int, int]], int]:
    """Dark runs as (x, y, width) in modules (y down), and the symbol size without border."""
    rows = qr_rows(payload)
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(rows):
        runs.extend((m.start(), y, m.end() - m.start()) for m in _DARK_RUN.finditer(row))
    return runs, len(rows)
