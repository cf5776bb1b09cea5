"""CBEC business rules as pure functions: ID numbers, tax, limits, amount consistency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SINGLE_ORDER_LIMIT = Decimal("5000")
ANNUAL_LIMIT = Decimal("26000")
CBEC_TAX_SHARE = Decimal("0.7")
CENT = Decimal("0.01")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def id_number_problem(number: str) -> str | None:
    """Why an 18-digit PRC resident ID number (GB 11643) is invalid, or None if it is valid."""
    if len(number) != 18:
        return "must be 18 characters"
    body, check = number[:17], number[17].upper()
    if not body.isdigit() or not (check.isdigit() or check == "X"):
        return "must be 17 digits followed by a digit or X"
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != check:
        return f"check digit should be {_ID_CHECK[total % 11]}"
    return None


def id_check_digit(body17: str) -> str:
    """The check character for 17 leading digits (used to make valid demo IDs)."""
    total = sum(int(digit) * weight for digit, weight in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def comprehensive_rate(vat_rate: Decimal, consumption_rate: Decimal) -> Decimal:
    """CBEC rate = (consumption + VAT) / (1 − consumption) × 70% (tariff 0 within limits)."""
    return (consumption_rate + vat_rate) / (Decimal(1) - consumption_rate) * CBEC_TAX_SHARE


@dataclass(frozen=True)
class LineTax:
    """Tax due on one line within the CBEC limits."""

    customs_tax: Decimal
    vat: Decimal
    consumption_tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.customs_tax + self.vat + self.consumption_tax


def line_tax(dutiable: Decimal, vat_rate: Decimal, consumption_rate: Decimal) -> LineTax:
    """VAT and consumption tax at 70% of statutory on a dutiable value; tariff 0."""
    consumption_base = dutiable / (Decimal(1) - consumption_rate)
    consumption = round_money(consumption_base * consumption_rate * CBEC_TAX_SHARE)
    vat = round_money(consumption_base * vat_rate * CBEC_TAX_SHARE)
    return LineTax(Decimal("0.00"), vat, consumption)


def expected_paid(goods: Decimal, freight: Decimal, tax: Decimal, discount: Decimal) -> Decimal:
    """acturalPaid = goodsValue + freight + taxTotal − discount."""
    return round_money(goods + freight + tax - discount)


def over_single_limit(actural_paid: Decimal) -> bool:
    return actural_paid > SINGLE_ORDER_LIMIT


def over_annual_limit(already_this_year: Decimal, actural_paid: Decimal) -> bool:
    return already_this_year + actural_paid > ANNUAL_LIMIT
