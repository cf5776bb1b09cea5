"""CBEC business rules as pure functions: ID numbers, tax, limits, amount consistency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from declarations.fmt import china_now

SINGLE_ORDER_LIMIT = Decimal("5000")
ANNUAL_LIMIT = Decimal("26000")
CBEC_TAX_SHARE = Decimal("0.7")
CENT = Decimal("0.01")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def id_number_problem(number: str, today: date | None = None) -> str | None:
    """Why an 18-digit PRC resident ID number (GB 11643) is invalid, or None if it is valid:
    digits 7–14 are the holder's birth date, the last is a check character."""
    if len(number) != 18:
        return "must be 18 characters"
    body, check = number[:17], number[17].upper()
    if not body.isdigit() or not (check.isdigit() or check == "X"):
        return "must be 17 digits followed by a digit or X"
    birth = birth_date_problem(body[6:14], today or china_now().date())
    if birth:
        return birth
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != check:
        return f"check digit should be {_ID_CHECK[total % 11]}"
    return None


def birth_date_problem(yyyymmdd: str, today: date) -> str | None:
    """Why the birth date in an ID number is impossible (no such day, before 1900, or later
    than today), or None."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return f"birth date {yyyymmdd} does not exist"
    if born < EARLIEST_BIRTH or born > today:
        return f"birth date {yyyymmdd} is impossible"
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


CUSTOMS_TOLERANCE = Decimal("0.05")  # cbec-facts §5.2: customs tolerates 5% on computed amounts


@dataclass(frozen=True)
class Problem:
    """Something customs would reject (or tax differently), in words for the broker (English) and
    as customs would write it in returnInfo (Chinese)."""

    code: str
    field: str
    message: str
    zh: str
    value: str | None = None
    severity: str = "error"

    @property
    def return_info(self) -> str:
        shown = f" [{self.value}]" if self.value else ""
        return f"{self.zh}: {self.field}{shown} ({self.code})"[:1000]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "return_info": self.return_info,
            "value": self.value,
            "severity": self.severity,
        }


def within(actual: Decimal, expected: Decimal, tolerance: Decimal = CUSTOMS_TOLERANCE) -> bool:
    """Whether an amount agrees with what it should be, within a relative tolerance (0: to the
    cent)."""
    return abs(actual - expected) <= max(abs(expected) * tolerance, CENT / 2)


@dataclass(frozen=True)
class OrderTax:
    """Tax of an order: one LineTax per line, their sum, and whether it is the full
    general-trade tax of a single indivisible item over the order limit (§5.1)."""

    lines: tuple[LineTax, ...]
    full: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))


def order_tax(lines: list[tuple[Decimal, Decimal, Decimal]]) -> OrderTax:
    """CBEC tax per line of (dutiable value, VAT rate, consumption-tax rate), within the limits."""
    return OrderTax(tuple(line_tax(value, vat, ct) for value, vat, ct in lines))


def full_tax(
    dutiable: Decimal, tariff_rate: Decimal, vat_rate: Decimal, consumption_rate: Decimal
) -> LineTax:
    """General-trade tax at the goods' full rates: what a single indivisible item above the
    CNY 5,000 order limit pays (财关税〔2018〕49号, cbec-facts §5.1)."""
    tariff = dutiable * tariff_rate
    consumption_base = (dutiable + tariff) / (Decimal(1) - consumption_rate)
    consumption = consumption_base * consumption_rate
    vat = consumption_base * vat_rate
    return LineTax(round_money(tariff), round_money(vat), round_money(consumption))


@dataclass(frozen=True)
class Goods:
    """One order line as the tax sees it: its value (price × qty) and its goods' rates."""

    value: Decimal
    vat_rate: Decimal
    consumption_rate: Decimal
    tariff_rate: Decimal = Decimal(0)


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` (whole cents) shared in proportion to `weights`, rounded to cents by largest
    remainder (ties to the earlier line), so the shares add up to `amount` exactly. Lines all
    worth nothing share equally."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [Decimal(1)] * len(weights)
    cents, whole = int(amount / CENT), sum(Fraction(w) for w in weights)
    exact = [Fraction(cents) * Fraction(w) / whole for w in weights]
    shares = [int(e) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[: cents - sum(shares)]:
        shares[i] += 1
    return [Decimal(share) * CENT for share in shares]


def dutiable_values(values: Sequence[Decimal], freight: Decimal, insured: Decimal) -> list[Decimal]:
    """Each line's dutiable value: its price plus its share of freight and insurance, shared in
    proportion to value (cbec-facts §5.1: the dutiable value includes freight and insurance)."""
    freights, insurances = spread(freight, values), spread(insured, values)
    return [v + f + i for v, f, i in zip(values, freights, insurances, strict=True)]


def goods_tax(goods: Sequence[Goods], freight: Decimal, insured: Decimal, full: bool) -> OrderTax:
    """Each line's tax on its dutiable value: CBEC rates (tariff 0, 70% of VAT and consumption
    tax), or the full general-trade rates for a single indivisible item (§5.1)."""
    dutiable = dutiable_values([g.value for g in goods], freight, insured)
    if full:
        lines = (
            full_tax(d, g.tariff_rate, g.vat_rate, g.consumption_rate)
            for d, g in zip(dutiable, goods, strict=True)
        )
    else:
        lines = (
            line_tax(d, g.vat_rate, g.consumption_rate)
            for d, g in zip(dutiable, goods, strict=True)
        )
    return OrderTax(tuple(lines), full)


def taxes_in_full(paid: Decimal, quantities: list[Decimal]) -> bool:
    """Whether an order is the single indivisible item over CNY 5,000 that pays full duty, VAT
    and consumption tax instead of the CBEC rates (§5.1)."""
    return over_single_limit(paid) and is_single_indivisible(quantities)


def order_tax_due(
    goods: Sequence[Goods],
    quantities: list[Decimal],
    charges: tuple[Decimal, Decimal, Decimal],
) -> OrderTax:
    """The tax of an order with `charges` = (freight, insured fee, discount): at CBEC rates, or
    in full when what the buyer pays at those rates makes it a single indivisible item over
    CNY 5,000 (§5.1; acturalPaid per §5.2, the insured fee outside it)."""
    freight, insured, discount = charges
    cbec = goods_tax(goods, freight, insured, full=False)
    paid = expected_paid(sum((g.value for g in goods), Decimal(0)), freight, cbec.total, discount)
    if taxes_in_full(paid, quantities):
        return goods_tax(goods, freight, insured, full=True)
    return cbec


def annual_total(history: list[tuple[date, Decimal]], year: int) -> Decimal:
    """What a buyer paid in one calendar year: the annual limit resets on 1 January."""
    return sum((paid for day, paid in history if day.year == year), Decimal(0))


def is_single_indivisible(quantities: list[Decimal]) -> bool:
    """One line of quantity one: the only order allowed above CNY 5,000 (at full tax)."""
    return len(quantities) == 1 and quantities[0] == 1


def limit_problems(
    paid: Decimal, spent_this_year: Decimal, quantities: list[Decimal], field: str = "acturalPaid"
) -> list[Problem]:
    """The CNY 5,000 order and CNY 26,000 annual limits, with the indivisible-item exception."""
    if over_annual_limit(spent_this_year, paid):
        return [_over_annual(paid, spent_this_year)]
    if not over_single_limit(paid):
        return []
    if taxes_in_full(paid, quantities):
        return [
            Problem(
                "single_item_full_tax",
                field,
                f"one indivisible item of {paid} is over CNY 5,000: allowed, but taxed at the "
                "full general-trade rates and counted in the annual total",
                "单件不可分割商品超过单次限值，按货物税率全额征税",
                str(paid),
                "warning",
            )
        ]
    return [
        Problem(
            "over_single_limit",
            field,
            f"the order pays {paid}, over the CNY 5,000 single-order limit",
            "超过单次交易限值5000元",
            str(paid),
        )
    ]


def _over_annual(paid: Decimal, spent: Decimal) -> Problem:
    return Problem(
        "over_annual_limit",
        "buyerIdNumber",
        f"the buyer has spent {spent} this calendar year; {paid} more would pass CNY 26,000",
        "超过个人年度交易限值26000元",
        str(spent + paid),
    )


def id_problem(number: str, field: str = "buyerIdNumber") -> Problem | None:
    """The 18-digit PRC ID rule as a Problem, or None when the number is valid."""
    why = id_number_problem(number)
    if why is None:
        return None
    return Problem(
        "invalid_id_number",
        field,
        f"the buyer's ID number {why}",
        "订购人身份证件号码校验不通过",
        number,
    )


def amount_problems(
    goods_value: Decimal,
    freight: Decimal,
    tax_total: Decimal,
    discount: Decimal,
    actural_paid: Decimal,
    tolerance: Decimal = CUSTOMS_TOLERANCE,
) -> list[Problem]:
    """acturalPaid = goodsValue + freight + taxTotal − discount, within the tolerance."""
    expected = expected_paid(goods_value, freight, tax_total, discount)
    if within(actural_paid, expected, tolerance):
        return []
    return [
        Problem(
            "paid_mismatch",
            "acturalPaid",
            f"acturalPaid {actural_paid} should be goodsValue + freight + taxTotal − discount "
            f"= {expected}",
            "实际支付金额与货值、运费、税款、优惠计算不符",
            str(actural_paid),
        )
    ]


def line_total_problem(
    where: str, price: Decimal, qty: Decimal, total: Decimal, tolerance: Decimal = CUSTOMS_TOLERANCE
) -> Problem | None:
    """A line whose totalPrice is not price × qty (within the tolerance), or None."""
    expected = round_money(price * qty)
    if within(total, expected, tolerance):
        return None
    return Problem(
        "line_total_mismatch",
        f"{where}/totalPrice",
        f"line total {total} should be price {price} × qty {qty} = {expected}",
        "商品总价与单价乘数量不符",
        str(total),
    )
