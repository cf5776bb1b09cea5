"""PDF back end: page geometry, embedded CJK font and barcodes that read back."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labels import LABEL_76x130, LABEL_100x150, LabelData, LabelSize, render_pdf
from labels.fit import PT_PER_MM
from tests.labels.helpers import decode, make_label, pdf_to_png


def _page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(w) / PT_PER_MM, float(h) / PT_PER_MM) for w, h in boxes]


@pytest.mark.parametrize("size", [LABEL_100x150, LABEL_76x130])
def test_page_size_is_exact(label: LabelData, size: LabelSize) -> None:
    sizes = _page_sizes(render_pdf([label], size))
    assert sizes == [pytest.approx((size.width_mm, size.height_mm), abs=0.01)]


def test_one_page_per_label_and_progress(label: LabelData) -> None:
    seen: list[tuple[int, int]] = []
    pdf = render_pdf(
        [label, make_label(waybill_no="SF9"), label], progress=lambda i, n: seen.append((i, n))
    )
    assert len(_page_sizes(pdf)) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_cjk_font_is_embedded_as_subset(label: LabelData) -> None:
    pdf = render_pdf([label])
    assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYiZenHei", pdf)
    assert b"/FontFile2" in pdf
    assert b"/Helvetica" not in pdf


@pytest.mark.parametrize("size", [LABEL_100x150, LABEL_76x130])
def test_barcodes_read_back(label: LabelData, size: LabelSize, tmp_path: Path) -> None:
    (png,) = pdf_to_png(render_pdf([label], size), tmp_path)
    found = decode(png)
    assert found.get("Code128") == label.waybill_no
    assert found.get("QRCode") == label.qr_payload


def test_hostile_label_barcodes_read_back(hostile_label: LabelData, tmp_path: Path) -> None:
    (png,) = pdf_to_png(render_pdf([hostile_label]), tmp_path)
    found = decode(png)
    assert found.get("Code128") == hostile_label.waybill_no
    assert found.get("QRCode") == hostile_label.qr_payload


def test_batch_pages_each_carry_their_own_barcodes(tmp_path: Path) -> None:
    batch = [make_label(waybill_no=f"JD00{i}1234567", qr_payload=f"Q-{i}") for i in range(3)]
    pages = pdf_to_png(render_pdf(batch), tmp_path, dpi=200)
    assert [decode(p).get("Code128") for p in pages] == [b.waybill_no for b in batch]
    assert [decode(p).get("QRCode") for p in pages] == [b.qr_payload for b in batch]


def test_output_is_deterministic(label: LabelData) -> None:
    assert render_pdf([label]) == render_pdf([label])


def test_concurrent_renders_agree(label: LabelData) -> None:
    with ThreadPoolExecutor(4) as pool:
        outputs = set(pool.map(lambda _: render_pdf([label]), range(8)))
    assert len(outputs) == 1
