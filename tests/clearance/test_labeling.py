"""What a shipment's label says that no order field says directly: its destination for sorting."""

from __future__ import annotations

import pytest

from clearance.printing.labeling import destination


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("浙江省杭州市西湖区文三路861号3栋1141室", "杭州 西湖区"),
        ("北京市朝阳区建国路88号", "北京 朝阳区"),
        ("上海市浦东新区张江路1号", "上海 浦东新区"),
        ("新疆维吾尔自治区乌鲁木齐市天山区解放南路1号", "乌鲁木齐 天山区"),
        ("河南省郑州市中牟县城关镇", "郑州 中牟县"),
        ("广东省东莞市南城街道莞太路小区", "东莞"),
        ("Flat 1, London", None),
    ],
)
def test_the_destination_is_the_city_and_district_of_the_address(
    address: str, expected: str | None
) -> None:
    assert destination(address) == expected
