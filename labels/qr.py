"""QR matrix via segno with a fixed mask, flattened into horizontal runs of dark modules."""

from __future__ import annotations

import re

import segno

# A fixed mask skips segno's penalty search over all eight masks (about 5x faster);
# any mask yields a valid symbol, the search only tunes contrast patterns.
QR_MASK = 0
QR_ERROR = "m"
QUIET_MODULES = 2
_DARK_RUN = re.compile(b"\x01+")


def qr_runs(payload: str) -> tuple[list[tuple[int, int, int]], int]:
    """Dark runs as (x, y, width) in modules (y down), and the symbol size without border."""
    matrix = segno.make_qr(payload, error=QR_ERROR, mask=QR_MASK, boost_error=False).matrix
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(matrix):
        runs.extend((m.start(), y, m.end() - m.start()) for m in _DARK_RUN.finditer(row))
    return runs, len(matrix)
