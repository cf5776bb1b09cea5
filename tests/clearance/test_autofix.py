"""Auto-fix reads customs' free text: which order field a reason is about, by keyword, and no
auto-fix at all when any reason cannot be placed (never our own `原因: field (code)` format)."""

from __future__ import annotations

import pytest

from clearance.broker.autofix import named_fields

CONTEXT = "[电商企业编码：DEMO3301EC，订单编号：TM2026111100000001]"


@pytest.mark.parametrize(
    ("info", "fields"),
    [
        (f"订购人电话与支付人登记电话不符{CONTEXT}", ["buyer_phone"]),
        (f"收货地址不详，缺少门牌号{CONTEXT}", ["consignee_address"]),
        (f"订购人身份证件号码校验不通过{CONTEXT}", ["buyer_id_number"]),
        (f"清单与订单订购人姓名不一致{CONTEXT}", ["buyer_name"]),
        (f"收货人电话格式错误{CONTEXT}", ["consignee_phone"]),
        (
            f"订购人电话与支付人登记电话不符；收货地址不详，缺少门牌号{CONTEXT}",
            ["buyer_phone", "consignee_address"],
        ),
    ],
)
def test_the_field_is_inferred_from_customs_words(info: str, fields: list[str]) -> None:
    assert named_fields(info) == fields


@pytest.mark.parametrize(
    "info",
    [
        f"超过个人年度交易限值26000元{CONTEXT}",  # not cured by correcting buyer data
        f"订购人电话与支付人登记电话不符；超过单次交易限值5000元{CONTEXT}",  # one reason unplaced
        f"支付单与订单支付人证件号码不一致{CONTEXT}",  # the payment company's document
        f"物流运单编号已被其他订单使用{CONTEXT}",
        f"表体第1项商品名称与订单不一致{CONTEXT}",
        "原因: buyerTelephone [13800000000] (spot_check)",  # our own old format is not read
        "[Code:2000;Desc:审结]",
        "",
    ],
)
def test_no_auto_fix_when_a_reason_is_not_clearly_a_correctable_field(info: str) -> None:
    assert named_fields(info) == []


def test_values_in_brackets_do_not_count_as_reasons() -> None:
    assert named_fields("收货地址不详[订购人证件号码：110105194912310020]") == ["consignee_address"]
