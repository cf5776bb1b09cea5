"""ZPL back end: golden output, structure, escaping of hostile text, both CJK strategies."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from labels import LABEL_76x130, LABEL_100x150, LabelData, LabelSize, code128, render_zpl
from labels.zpl import code128_fd, escape_fd
from labels.zplview import bc_values, gf_bytes, zpl_to_png
from tests.labels.helpers import decode, make_label

GOLDEN = Path(__file__).parent / "golden"


def _check_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(actual)
    assert actual.decode() == path.read_text(encoding="utf-8")


def test_resident_golden(label: LabelData) -> None:
    _check_golden("label-100x150-203dpi-resident.zpl", render_zpl([label], cjk="resident"))


def test_resident_golden_76x130_300dpi(label: LabelData) -> None:
    zpl = render_zpl([label], LABEL_76x130, dpi=300, cjk="resident", resident_font="E:MSUNG.TTF")
    _check_golden("label-76x130-300dpi-resident.zpl", zpl)


def _formats(zpl: str) -> list[str]:
    return re.findall(r"\^XA.*?\^XZ", zpl, flags=re.S)


@pytest.mark.parametrize("cjk", ["resident", "bitmap"])
@pytest.mark.parametrize("size", [LABEL_100x150, LABEL_76x130])
@pytest.mark.parametrize("dpi", [203, 300])
def test_one_format_per_label(label: LabelData, cjk: str, size: LabelSize, dpi: int) -> None:
    batch = [label, make_label(waybill_no="JD0001"), make_label(sort_code=None)]
    zpl = render_zpl(batch, size, dpi=dpi, cjk=cjk).decode()  # type: ignore[arg-type]
    assert zpl.count("^XA") == zpl.count("^XZ") == 3
    assert len(_formats(zpl)) == 3
    width, height = round(size.width_mm * dpi / 25.4), round(size.height_mm * dpi / 25.4)
    assert all(f"^PW{width}" in f and f"^LL{height}" in f for f in _formats(zpl))
    assert all(f.startswith("^XA\n^CI28") for f in _formats(zpl))


def _field_data(zpl: str) -> list[str]:
    return re.findall(r"\^FD(.*?)\^FS", zpl, flags=re.S)


@pytest.mark.parametrize("cjk", ["resident", "bitmap"])
def test_hostile_text_cannot_break_the_format(hostile_label: LabelData, cjk: str) -> None:
    zpl = render_zpl([hostile_label], cjk=cjk).decode()  # type: ignore[arg-type]
    assert zpl.count("^XA") == 1
    assert zpl.count("^XZ") == 1
    assert zpl.rstrip().endswith("^XZ")
    assert "~" not in zpl
    for data in _field_data(zpl):
        assert "^" not in data
    assert "_5E" in zpl
    assert "_7E" in zpl
    assert "😀" not in zpl
    assert "🏠" not in zpl


def test_resident_mode_uses_named_font_and_escapes(hostile_label: LabelData) -> None:
    zpl = render_zpl([hostile_label], cjk="resident", resident_font="E:MYCJK.TTF").decode()
    assert "^A@N," in zpl
    assert ",E:MYCJK.TTF^FH^FD" in zpl
    assert "^GF" not in zpl
    assert "Merchant _5EFS_7EDG" in zpl
    assert "北京市" in zpl


def test_bitmap_mode_sends_chinese_as_graphics(label: LabelData) -> None:
    zpl = render_zpl([label], cjk="bitmap").decode()
    assert "^GFA," in zpl
    assert not re.search(r"[\u4e00-\u9fff]", zpl)
    assert not re.search(r"\^A[0-9A-Z@]", zpl)


def test_graphic_fields_declare_their_true_size(label: LabelData) -> None:
    zpl = render_zpl([label], cjk="bitmap").decode()
    for total, count, row, data in re.findall(r"\^GFA,(\d+),(\d+),(\d+),([^\^]*)", zpl):
        assert total == count
        assert int(total) % int(row) == 0
        assert re.fullmatch(r"[0-9A-F,:]+", data)


def test_escape_fd_round_trip() -> None:
    assert escape_fd("a^b~c_d") == "a_5Eb_7Ec_5Fd"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("SF1234567890123", ">:SF1>5234567890123"),
        ("12345678", ">;12345678"),
        ("AB^C~D>E", ">:AB><C>=D>0E"),
        ("123", ">;12>63"),
    ],
)
def test_code128_field_data_pins_subsets(data: str, expected: str) -> None:
    assert code128_fd(data) == expected


def test_progress_reports_each_label(label: LabelData) -> None:
    seen: list[tuple[int, int]] = []
    render_zpl([label, label], cjk="resident", progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 2), (2, 2)]


def test_rejects_unknown_cjk_mode(label: LabelData) -> None:
    with pytest.raises(ValueError, match="cjk"):
        render_zpl([label], cjk="vector")  # type: ignore[arg-type]


@pytest.mark.parametrize("cjk", ["resident", "bitmap"])
@pytest.mark.parametrize("size", [LABEL_100x150, LABEL_76x130])
@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_barcodes_read_back(
    hostile_label: LabelData, cjk: str, size: LabelSize, dpi: int, tmp_path: Path
) -> None:
    png = tmp_path / "zpl.png"
    png.write_bytes(zpl_to_png(render_zpl([hostile_label], size, dpi=dpi, cjk=cjk)))  # type: ignore[arg-type]
    found = decode(png)
    assert found.get("Code128") == hostile_label.waybill_no
    assert found.get("QRCode") == hostile_label.qr_payload


@pytest.mark.parametrize("data", ["SF1234567890123", "1234567", "AB^C~D>E", "A12345B6789012C"])
def test_code128_field_data_means_the_same_symbols(data: str) -> None:
    assert bc_values(code128_fd(data)) == code128.encode(data)


def test_graphic_field_shorthands_expand() -> None:
    assert gf_bytes("FF,:0F80", 2, 8) == bytes.fromhex("FF00FF000F800000")


def test_missing_sort_code_leaves_no_empty_field() -> None:
    zpl = render_zpl([make_label(sort_code=None)], cjk="resident").decode()
    assert "^FD^FS" not in zpl
    assert "\n\n" not in zpl


@pytest.mark.parametrize("font", ["E:X.TTF^FS^XZ", "SIMSUN", "E:~JA.TTF"])
def test_resident_font_name_cannot_inject_zpl(label: LabelData, font: str) -> None:
    with pytest.raises(ValueError, match="resident_font"):
        render_zpl([label], cjk="resident", resident_font=font)
