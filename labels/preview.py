"""Offline PNG previews of a label, for screens and docs (no external rendering service)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from labels.model import LABEL_100x150, LabelData, LabelSize
from labels.pdf import render_pdf

PreviewFormat = Literal["pdf", "zpl"]
ZPL_PREVIEW_DPI = 203


class PreviewError(RuntimeError):
    """The PNG rasteriser (poppler's pdftoppm) is missing or failed."""


def _pdftoppm() -> str:
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise PreviewError("pdftoppm not found: install the Debian package poppler-utils")
    return exe


def pdf_page_to_png(pdf: bytes, dpi: int, mono: bool = False) -> bytes:
    """First page of ``pdf`` as PNG via pdftoppm; ``mono`` gives the 1-bit look of a thermal head."""
    with tempfile.TemporaryDirectory(prefix="label-preview-") as tmp:
        src, out = Path(tmp) / "label.pdf", Path(tmp) / "label"
        src.write_bytes(pdf)
        cmd = [_pdftoppm(), "-png", "-r", str(dpi), "-singlefile", "-f", "1", "-l", "1"]
        cmd += ["-mono"] if mono else ["-gray"]
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
    """PNG of ``label`` as the chosen back end lays it out.

    ``fmt="pdf"`` rasterises the PDF at ``dpi`` (anti-aliased grey). ``fmt="zpl"`` is not a
    ZPL interpreter: both back ends draw the one shared layout, so the ZPL preview renders that
    layout through the PDF path at the printer's dot pitch (``dpi``, 203 if left at 150) in
    1-bit black and white, which is what a Zebra head burns.
    """
    if fmt not in ("pdf", "zpl"):
        raise ValueError(f"fmt must be 'pdf' or 'zpl', got {fmt!r}")
    pdf = render_pdf([label], size)
    if fmt == "pdf":
        return pdf_page_to_png(pdf, dpi)
    return pdf_page_to_png(pdf, ZPL_PREVIEW_DPI if dpi == 150 else dpi, mono=True)
