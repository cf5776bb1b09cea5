"""Offline PNG previews of a label, for screens and docs (no external rendering service)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.pdf import render_pdf
from labels.zpl import render_zpl
from labels.zplview import zpl_to_png

PreviewFormat = Literal["pdf", "zpl"]


class PreviewError(RuntimeError):
    """The PNG rasteriser (poppler's pdftoppm) is missing or failed."""


def _pdftoppm() -> str:
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise PreviewError("pdftoppm not found: install the Debian package poppler-utils")
    return exe


def pdf_page_to_png(pdf: bytes, dpi: int) -> bytes:
    """First page of ``pdf`` as a greyscale PNG via pdftoppm."""
    with tempfile.TemporaryDirectory(prefix="label-preview-") as tmp:
        src, out = Path(tmp) / "label.pdf", Path(tmp) / "label"
        src.write_bytes(pdf)
        cmd = [_pdftoppm(), "-png", "-gray", "-r", str(dpi), "-singlefile", "-f", "1", "-l", "1"]
        done = subprocess.run([*cmd, str(src), str(out)], capture_output=True, timeout=60)
        if done.returncode != 0:
            raise PreviewError(f"pdftoppm failed: {done.stderr.decode(errors='replace').strip()}")
        return out.with_suffix(".png").read_bytes()


def render_png_preview(
    label: LabelData,
    size: LabelSize = LABEL_100x150,
    fmt: PreviewFormat = "pdf",
    dpi: int = 150,
) -> bytes:
    """PNG of ``label`` as the chosen back end renders it, fully offline.

    ``fmt="pdf"``: the PDF rasterised by pdftoppm at ``dpi``. ``fmt="zpl"``: the ZPL that
    ``render_zpl(dpi=dpi, cjk="bitmap")`` sends, drawn dot for dot by ``labels.zplview`` (an
    interpreter for the ZPL subset we emit), so the image shows the printer's 1-bit output.
    Use ``dpi=203`` or ``300`` for a true printer-resolution preview.
    """
    if fmt == "pdf":
        return pdf_page_to_png(render_pdf([label], size), dpi)
    if fmt == "zpl":
        return zpl_to_png(render_zpl([label], size, dpi=dpi, cjk="bitmap"))
    raise ValueError(f"fmt must be 'pdf' or 'zpl', got {fmt!r}")
