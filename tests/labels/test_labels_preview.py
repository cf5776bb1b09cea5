"""Offline PNG previews for both back ends."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from labels import LABEL_76x130, LabelData, render_png_preview
from tests.labels.helpers import decode

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    image = pytest.importorskip("PIL.Image")
    with image.open(io.BytesIO(png)) as img:
        return img.size


def test_pdf_preview_has_label_proportions(label: LabelData) -> None:
    png = render_png_preview(label, dpi=100)
    assert png.startswith(PNG_MAGIC)
    assert _size(png) == (394, 591)


def test_zpl_preview_is_at_printer_resolution(label: LabelData) -> None:
    png = render_png_preview(label, LABEL_76x130, fmt="zpl", dpi=203)
    assert png.startswith(PNG_MAGIC)
    assert _size(png) == (607, 1039)


@pytest.mark.parametrize("fmt", ["pdf", "zpl"])
def test_preview_barcodes_read_back(label: LabelData, fmt: str, tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    png.write_bytes(render_png_preview(label, fmt=fmt, dpi=203))  # type: ignore[arg-type]
    found = decode(png)
    assert found.get("Code128") == label.waybill_no
    assert found.get("QRCode") == label.qr_payload


def test_rejects_unknown_format(label: LabelData) -> None:
    with pytest.raises(ValueError, match="fmt"):
        render_png_preview(label, fmt="svg")  # type: ignore[arg-type]
