"""The simulator refuses what customs refuses (cbec-facts §3, §5.3): codes missing from the code
tables, one waybill number on two orders, inventory goods unlike the order's, ID numbers with an
impossible birth date; and it says so in customs' free text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from clearance.simulator.wording import reason, refusal_text
from declarations import rules, samples
from declarations.model import Inventory
from declarations.rules import Problem
from tests.clearance.test_simulator import Customs, assert_customs_wording, inventory, statuses


@pytest.fixture
def customs(tmp_path: Path) -> Customs:
    return Customs(tmp_path)


@pytest.fixture
def strict(tmp_path: Path) -> Customs:
    return Customs(tmp_path, require_documents=True)


def _with_line(**changes: object) -> Inventory:
    line = dataclasses.replace(samples.inventory_line(), **changes)  # type: ignore[arg-type]
    return samples.inventory(lines=(line,))


@pytest.mark.parametrize(
    ("inv", "words"),
    [
        (_with_line(country="999"), "表体第1项国别(地区)代码999在参数表中不存在"),
        (_with_line(unit="999"), "表体第1项计量单位代码999在参数表中不存在"),
        (_with_line(unit1="999"), "表体第1项计量单位代码999在参数表中不存在"),
    ],
    ids=["country", "unit", "unit1"],
)
def test_codes_missing_from_the_code_tables_are_refused(
    customs: Customs, inv: Inventory, words: str
) -> None:
    customs.send(inv)
    receipts = customs.answers()
    assert statuses(receipts) == [2, 100]
    assert words in receipts[-1].return_info
    assert_customs_wording(receipts[-1].return_info)


def test_a_currency_other_than_cny_is_refused_by_the_schema(customs: Customs) -> None:
    customs.send(_with_line(currency="999"))  # the XSD pins currency to 142 (§3.4)
    assert [r.message_type for r in customs.answers()] == ["CEB900"]


def test_an_order_with_an_unknown_unit_is_refused(customs: Customs) -> None:
    order = samples.order()
    line = dataclasses.replace(order.lines[0], unit="999")
    customs.send(dataclasses.replace(order, lines=(line,)))
    receipts = customs.answers()
    assert statuses(receipts, "CEB312") == [100]
    assert "表体第1项计量单位代码999在参数表中不存在" in receipts[-1].return_info


def test_one_waybill_number_on_two_orders_is_refused(customs: Customs) -> None:
    first = inventory(1, "100.00")
    customs.send(first)
    assert statuses(customs.answers()) == [2, 120, 399, 800]
    customs.send(inventory(2, "100.00", logistics_no=first.logistics_no))
    refused = customs.answers()
    assert statuses(refused) == [2, 100]
    assert "物流运单编号已被其他订单使用" in refused[-1].return_info
    assert_customs_wording(refused[-1].return_info)


def test_a_waybill_number_already_declared_for_another_order_is_refused(customs: Customs) -> None:
    customs.send(samples.waybill())
    customs.send(samples.waybill(guid="F5110000-0000-4000-8000-000000000002", order_no="TM2"))
    receipts = customs.answers()
    assert statuses(receipts, "CEB512") == [2, 120, 100]
    assert "物流运单编号已被其他订单使用" in receipts[-1].return_info


def test_a_refiling_of_the_same_order_keeps_its_waybill_number(customs: Customs) -> None:
    first = inventory(1, "100.00", buyer_id_number="110105194902300021")
    customs.send(first)
    assert statuses(customs.answers()) == [2, 100]
    customs.send(inventory(1, "100.00", guid="F1000000-0000-4000-8000-0000000000B2"))
    assert statuses(customs.answers()) == [2, 120, 399, 800]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"gname": "葡萄酒"}, "表体第1项清单商品名称与订单不一致"),
        ({"item_no": "OTHER-SKU"}, "表体第1项清单商品货号与订单不一致"),
    ],
    ids=["gname", "item-no"],
)
def test_inventory_goods_unlike_the_orders_are_refused(
    strict: Customs, changes: dict[str, str], words: str
) -> None:
    for doc in (samples.order(), samples.payment(), samples.waybill()):
        strict.send(doc)
    strict.answers()
    strict.send(_with_line(**changes))
    refused = strict.answers()
    assert statuses(refused) == [2, 100]
    assert words in refused[-1].return_info


def test_an_id_number_with_an_impossible_birth_date_is_refused(customs: Customs) -> None:
    body = "11010519490230002"  # 30 February 1949, with a correct check digit
    customs.send(samples.inventory(buyer_id_number=body + rules.id_check_digit(body)))
    refused = customs.answers()
    assert statuses(refused) == [2, 100]
    assert "订购人身份证件号码校验不通过" in refused[-1].return_info


def test_refusals_read_like_customs_not_like_our_problem_codes() -> None:
    problems = [
        Problem("order_mismatch", "buyerName", "x", "清单与订单buyerName不一致", "李四"),
        Problem("unknown_code", "InventoryList[2]/unit", "x", "计量单位代码999在参数表中不存在"),
    ]
    text = refusal_text(problems, {"ebcCode": "DEMO3301EC", "orderNo": "TM1"})
    assert text == (
        "清单与订单订购人姓名不一致；表体第2项计量单位代码999在参数表中不存在"
        "[电商企业编码：DEMO3301EC，订单编号：TM1]"
    )
    assert reason(Problem("x", "copNo", "x", "清单重复申报")) == "清单重复申报"
