"""Label factories and barcode-reading helpers for the labels tests."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from labels import LabelData

LONG_ADDRESS = (
    "新疆维吾尔自治区乌鲁木齐市天山区解放南路街道幸福小区东区第二十七栋三单元十四层一千四百零二室"
    "（请放门口快递柜，如无人请联系物业代收，周末送货前务必提前半小时电话联系）"
    "隔壁是便利店，楼下有保安亭，进门左转第三个电梯直达十四层，出电梯右手边第二户，门牌为红色"
    "另外请注意小区东门晚上十点后关闭，需要从北门进入，北门靠近公交站台与社区卫生服务中心"
    "，快递员到达后请先按门铃两次再敲门三下，家中老人耳背请耐心等候，谢谢配合祝您生活愉快"
)


def make_label(**changes: object) -> LabelData:
    base = LabelData(
        waybill_no="SF1234567890123",
        qr_payload="https://clearway.example/t/SF1234567890123?o=ORD20240601000123",
        consignee_name="张伟",
        consignee_phone="13812345678",
        consignee_address="广东省广州市天河区珠江新城华夏路10号富力中心写字楼23层2301室（前台代收）",
        sender_name="Clearway 广州南沙保税仓",
        sender_address="广东省广州市南沙区保税港区港荣路88号3号仓",
        return_address="广东省广州市南沙区保税港区港荣路88号3号仓 退货组 020-12345678",
        order_no="ORD20240601000123",
        weight_kg=Decimal("1.250"),
        warehouse_code="GZ",
        print_date=date(2024, 6, 1),
        customs_status="已放行 RELEASED",
        invt_no="51412024I000123456",
        sort_code="755W-GZ01",
        parcel_index=1,
        parcel_count=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def pdf_to_png(pdf: bytes, tmp_path: Path, dpi: int = 300) -> list[Path]:
    """Rasterise every page with poppler's pdftoppm."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    src = tmp_path / "in.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", src, tmp_path / "page"], check=True
    )
    return sorted(tmp_path.glob("page*.png"))


def decode(png: Path) -> dict[str, str]:
    """Barcode format name -> decoded text, read with zxing-cpp."""
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    with image.open(png) as img:
        return {str(r.format).replace(" ", ""): r.text for r in zxingcpp.read_barcodes(img)}
