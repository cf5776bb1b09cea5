"""CBEC rules, table-driven with real-looking cases: tax, limits, ID numbers, amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from declarations import rules

D = Decimal


@pytest.mark.parametrize(
    ("goods", "vat", "ct", "rate"),
    [
        ("infant formula", "0.13", "0", "0.091"),
        ("ordinary cosmetic", "0.13", "0", "0.091"),
        ("high-end cosmetic", "0.13", "0.15", "0.2306"),
        ("9% VAT goods", "0.09", "0", "0.063"),
    ],
)
def test_comprehensive_rate(goods: str, vat: str, ct: str, rate: str) -> None:
    assert rules.comprehensive_rate(D(vat), D(ct)).quantize(D(rate)) == D(rate), goods


@pytest.mark.parametrize(
    ("dutiable", "vat", "ct", "expected_vat", "expected_ct"),
    [
        ("478.00", "0.13", "0", "43.50", "0.00"),  # 2 tins of formula: 9.1% = 43.498
        ("850.00", "0.13", "0.15", "91.00", "105.00"),  # 23.06%: base 1000, VAT 91, CT 105
        ("0.00", "0.13", "0", "0.00", "0.00"),  # a gift at price 0
    ],
)
def test_line_tax_within_limits(
    dutiable: str, vat: str, ct: str, expected_vat: str, expected_ct: str
) -> None:
    tax = rules.line_tax(D(dutiable), D(vat), D(ct))
    assert tax.customs_tax == 0
    assert (tax.vat, tax.consumption_tax) == (D(expected_vat), D(expected_ct))


def test_order_tax_sums_lines() -> None:
    tax = rules.order_tax([(D("478.00"), D("0.13"), D(0)), (D("850.00"), D("0.13"), D("0.15"))])
    assert [line.total for line in tax.lines] == [D("43.50"), D("196.00")]
    assert tax.total == D("239.50")


def test_full_tax_for_an_indivisible_item_over_the_limit() -> None:
    # a CNY 6,800 watch at an assumed 10% tariff, 13% VAT, 20% consumption tax (general trade)
    tax = rules.full_tax(D("6800"), D("0.10"), D("0.13"), D("0.20"))
    assert tax.customs_tax == D("680.00")
    assert tax.consumption_tax == D("1870.00")  # (6800 + 680) / 0.8 × 0.2
    assert tax.vat == D("1215.50")  # (6800 + 680) / 0.8 × 0.13


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("11010519491231002X", None),
        ("11010519491231002x", None),
        ("110105194912310021", "check digit should be X"),
        ("11010519491231002", "must be 18 characters"),
        ("1101051949123100AX", "must be 17 digits followed by a digit or X"),
        ("110105194902300021", "birth date 19490230 does not exist"),
        ("110105189912310021", "birth date 18991231 is impossible"),
        ("110105209912310021", "birth date 20991231 is impossible"),
    ],
)
def test_id_number(number: str, problem: str | None) -> None:
    assert rules.id_number_problem(number) == problem
    assert (rules.id_problem(number) is None) == (problem is None)


def test_check_digit_makes_valid_numbers() -> None:
    body = "44030419900101123"
    assert rules.id_number_problem(body + rules.id_check_digit(body)) is None


@pytest.mark.parametrize(
    ("paid", "spent", "quantities", "codes"),
    [
        ("5000.00", "0", [D(2)], []),
        ("5000.01", "0", [D(2)], ["over_single_limit"]),
        ("5000.01", "0", [D(1), D(1)], ["over_single_limit"]),
        ("6800.00", "0", [D(1)], ["single_item_full_tax"]),
        ("6800.00", "20000", [D(1)], ["over_annual_limit"]),
        ("500.00", "25500", [D(2)], []),  # exactly CNY 26,000 is within the limit
        ("500.01", "25500", [D(2)], ["over_annual_limit"]),
        ("500.01", "25500.00", [D(1)], ["over_annual_limit"]),
    ],
)
def test_limits(paid: str, spent: str, quantities: list[Decimal], codes: list[str]) -> None:
    found = rules.limit_problems(D(paid), D(spent), quantities)
    assert [p.code for p in found] == codes


def test_full_tax_item_is_a_warning_not_an_error() -> None:
    (problem,) = rules.limit_problems(D("6800"), D(0), [D(1)])
    assert problem.severity == "warning"


def test_buyer_crossing_26000_in_december_then_january() -> None:
    history = [(date(2026, 3, 1), D("9000")), (date(2026, 11, 11), D("16500"))]
    history += [(date(2025, 12, 31), D("20000"))]
    spent_2026 = rules.annual_total(history, 2026)
    assert spent_2026 == D("25500")
    assert rules.limit_problems(D("600"), spent_2026, [D(2)])[0].code == "over_annual_limit"
    assert rules.limit_problems(D("600"), rules.annual_total(history, 2027), [D(2)]) == []


@pytest.mark.parametrize(
    ("goods", "freight", "tax", "discount", "paid", "ok"),
    [
        ("478.00", "10.00", "43.50", "0", "531.50", True),
        ("478.00", "10.00", "43.50", "20.00", "511.50", True),
        ("478.00", "10.00", "43.50", "0", "560.00", False),  # 5.4% off
        ("478.00", "10.00", "43.50", "0", "555.00", True),  # 4.4%: inside customs' 5%
    ],
)
def test_amount_consistency(
    goods: str, freight: str, tax: str, discount: str, paid: str, ok: bool
) -> None:
    found = rules.amount_problems(D(goods), D(freight), D(tax), D(discount), D(paid))
    assert (found == []) is ok


def test_amount_consistency_to_the_cent_when_asked() -> None:
    assert rules.amount_problems(D(478), D(10), D("43.50"), D(0), D("531.51"), D(0)) != []


@pytest.mark.parametrize(
    ("price", "qty", "total", "ok"),
    [("239.00", "2", "478.00", True), ("239.00", "2", "239.00", False), ("0", "1", "0", True)],
)
def test_line_total_is_price_times_quantity(price: str, qty: str, total: str, ok: bool) -> None:
    problem = rules.line_total_problem("OrderList[1]", D(price), D(qty), D(total))
    assert (problem is None) is ok


def test_problem_return_info_is_chinese_with_code() -> None:
    (problem,) = rules.limit_problems(D("5000.01"), D(0), [D(2)])
    assert (
        problem.return_info == "超过单次交易限值5000元: acturalPaid [5000.01] (over_single_limit)"
    )
    assert problem.as_dict()["severity"] == "error"


# -- dutiable value: goods + freight + insurance (cbec-facts §5.1) ---------------------------

CENTS = st.integers(min_value=0, max_value=10**9).map(lambda c: D(c) / 100)


@given(amount=CENTS, weights=st.lists(CENTS, min_size=1, max_size=12))
def test_spread_adds_up_exactly_and_stays_within_a_cent_of_proportion(
    amount: Decimal, weights: list[Decimal]
) -> None:
    shares = rules.spread(amount, weights)
    assert sum(shares, D(0)) == amount
    assert all(share >= 0 and share == share.quantize(rules.CENT) for share in shares)
    whole = sum(weights) or len(weights)
    fair = [amount * (w if sum(weights) else 1) / whole for w in weights]
    assert all(abs(share - f) < rules.CENT for share, f in zip(shares, fair, strict=True))
    assert rules.spread(amount, weights) == shares  # deterministic


def test_spread_gives_the_odd_cent_to_the_largest_remainder_then_the_earlier_line() -> None:
    assert rules.spread(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert rules.spread(D("1.00"), [D(1), D(2)]) == [D("0.33"), D("0.67")]
    assert rules.spread(D("0.01"), [D(0), D(0)]) == [D("0.01"), D("0.00")]


def test_the_issues_worked_example_taxes_freight() -> None:
    goods = [rules.Goods(D("129.00"), D("0.13"), D(0))]
    tax = rules.order_tax_due(goods, [D(1)], (D("20.00"), D(0), D(0)))
    assert (tax.total, tax.full) == (D("13.56"), False)


def test_insurance_is_dutiable_too() -> None:
    assert rules.dutiable_values([D("100.00"), D("300.00")], D("10.00"), D("2.00")) == [
        D("103.00"),
        D("309.00"),
    ]


@pytest.mark.parametrize(
    ("quantities", "paid", "full"),
    [
        ([D(1)], "5000.01", True),
        ([D(1)], "5000.00", False),
        ([D(2)], "6000.00", False),
        ([D(1), D(1)], "6000.00", False),
    ],
)
def test_full_tax_is_for_one_indivisible_item_over_the_order_limit(
    quantities: list[Decimal], paid: str, full: bool
) -> None:
    assert rules.taxes_in_full(D(paid), quantities) is full


def test_an_item_over_the_limit_pays_duty_and_full_vat_and_consumption_tax() -> None:
    goods = [rules.Goods(D("6800.00"), D("0.13"), D("0.15"), D("0.05"))]
    tax = rules.order_tax_due(goods, [D(1)], (D("10.00"), D(0), D(0)))
    [line] = tax.lines
    assert tax.full and (line.customs_tax, line.vat, line.consumption_tax) == (
        D("340.50"),
        D("1093.61"),
        D("1261.85"),
    )
