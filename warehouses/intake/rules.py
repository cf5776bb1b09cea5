"""Every CBEC intake rule for one order, against reference data read beforehand: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from declarations import rules
from kit.errors import Conflict, FieldIssue, ValidationFailed
from warehouses.schemas import OrderIn

ORDER_COLUMNS = (
    "merchant_id",
    "warehouse_id",
    "order_no",
    "idempotency_key",
    "status",
    "buyer_reg_no",
    "buyer_name",
    "buyer_id_number",
    "buyer_phone",
    "consignee_name",
    "consignee_phone",
    "consignee_address",
    "goods_value",
    "freight",
    "insured_fee",
    "discount",
    "tax_total",
    "tax_computed",
    "actural_paid",
    "pay_code",
    "pay_name",
    "pay_transaction_id",
    "created_at",
)
LINE_COLUMNS = (
    "order_id",
    "gnum",
    "sku_id",
    "qty",
    "price",
    "total_price",
    "customs_tax",
    "vat",
    "consumption_tax",
)
PARCEL_COLUMNS = (
    "order_id",
    "warehouse_id",
    "tracking_no",
    "waybill_no",
    "expected_weight_kg",
    "floor_state",
    "customs_state",
)
CODE_COLUMNS = ("order_id", "warehouse_id", "code", "kind")
ZERO = Decimal(0)


@dataclass(frozen=True)
class SkuFacts:
    """What intake needs of an account-book SKU: its id, whether it is classified, tax, weight."""

    id: int
    gcode: str
    vat_rate: Decimal
    consumption_tax_rate: Decimal
    unit_weight_kg: Decimal
    tariff_rate: Decimal = ZERO


@dataclass
class Book:
    """Merchants and warehouses by code, and account-book SKUs by (warehouse, merchant, code)."""

    merchants: dict[str, int]
    warehouses: dict[str, int]
    skus: dict[tuple[int, int, str], SkuFacts]


@dataclass
class Taken:
    """An order that passed every rule, as the rows to store (the order id comes on insert)."""

    order_no: str
    actural_paid: Decimal
    tax_computed: Decimal
    order: tuple[Any, ...]
    lines: list[tuple[Any, ...]]
    parcel: tuple[Any, ...]
    codes: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Ledger:
    """What earlier orders leave behind: each buyer's spending this year, numbers in use."""

    spent: dict[str, Decimal] = field(default_factory=dict)
    order_nos: set[tuple[int, str]] = field(default_factory=set)
    tracking_nos: set[str] = field(default_factory=set)
    waybill_nos: set[str] = field(default_factory=set)
    # (warehouse id, code): the order, tracking and waybill numbers held at each warehouse.
    codes: set[tuple[int, str]] = field(default_factory=set)

    def copy(self) -> Ledger:
        numbers = (set(self.order_nos), set(self.tracking_nos), set(self.waybill_nos))
        return Ledger(dict(self.spent), *numbers, set(self.codes))

    def restore(self, earlier: Ledger) -> None:
        """Back to what `earlier` (a copy) held, in place: its holder keeps the same ledger."""
        self.spent, self.order_nos = earlier.spent, earlier.order_nos
        self.tracking_nos, self.waybill_nos = earlier.tracking_nos, earlier.waybill_nos
        self.codes = earlier.codes

    def add(self, data: OrderIn, parties: tuple[int, int], paid: Decimal) -> None:
        merchant_id, warehouse_id = parties
        buyer = data.buyer.id_number.upper()
        self.spent[buyer] = self.spent.get(buyer, ZERO) + paid
        self.order_nos.add((merchant_id, data.order_no))
        self.tracking_nos.add(data.tracking_no)
        self.waybill_nos.add(data.waybill_no)
        self.codes.update((warehouse_id, code) for code, _kind in order_codes(data))


def order_codes(data: OrderIn) -> list[tuple[str, str]]:
    """The codes a parcel of this order can be scanned by, each once: (code, kind)."""
    named = (("order", data.order_no), ("tracking", data.tracking_no), ("waybill", data.waybill_no))
    codes: dict[str, str] = {}
    for kind, code in named:
        codes.setdefault(code, kind)
    return list(codes.items())


def _parties(book: Book, data: OrderIn, merchant_scope: int | None) -> tuple[int, int]:
    merchant_id = book.merchants.get(data.merchant)
    warehouse_id = book.warehouses.get(data.warehouse)
    issues = []
    if merchant_id is None:
        issues.append(FieldIssue("merchant", "unknown_merchant", f"no merchant {data.merchant}"))
    if warehouse_id is None:
        issues.append(
            FieldIssue("warehouse", "unknown_warehouse", f"no warehouse {data.warehouse}")
        )
    if issues:
        raise ValidationFailed(issues)
    assert merchant_id is not None and warehouse_id is not None
    if merchant_scope is not None and merchant_scope != merchant_id:
        raise ValidationFailed.one("merchant", "not_your_merchant", "you may only post your orders")
    return merchant_id, warehouse_id


def _skus(book: Book, data: OrderIn, merchant_id: int, warehouse_id: int) -> list[SkuFacts]:
    found = [book.skus.get((warehouse_id, merchant_id, line.sku)) for line in data.lines]
    issues = [
        FieldIssue(
            f"lines[{i}].sku",
            "sku_not_in_account_book",
            f"SKU {line.sku} is not in warehouse {data.warehouse}'s bonded account book",
        )
        for i, (line, sku) in enumerate(zip(data.lines, found, strict=True))
        if sku is None
    ]
    issues += [
        FieldIssue(f"lines[{i}].sku", "sku_without_hs_code", f"SKU {line.sku} has no HS code")
        for i, (line, sku) in enumerate(zip(data.lines, found, strict=True))
        if sku is not None and not sku.gcode
    ]
    if issues:
        raise ValidationFailed(issues)
    return [sku for sku in found if sku is not None]


@dataclass
class Priced:
    """An order's lines with their value and tax, and the order's totals: `tax_total` is what
    the buyer is charged (the merchant's, when within customs' tolerance of ours), `computed`
    what the formula gives."""

    lines: list[tuple[Any, ...]]
    goods_value: Decimal
    tax_total: Decimal
    computed: Decimal
    actural_paid: Decimal
    weight_kg: Decimal


def _goods(data: OrderIn, skus: list[SkuFacts]) -> list[rules.Goods]:
    return [
        rules.Goods(
            rules.round_money(line.price * line.qty),
            sku.vat_rate,
            sku.consumption_tax_rate,
            sku.tariff_rate,
        )
        for line, sku in zip(data.lines, skus, strict=True)
    ]


def order_tax(data: OrderIn, goods: list[rules.Goods]) -> rules.OrderTax:
    """The formula's tax: on goods + freight + insured fee, in full for a single indivisible
    item over CNY 5,000 (cbec-facts §5.1)."""
    charges = (data.freight, data.insured_fee, data.discount)
    return rules.order_tax_due(goods, [line.qty for line in data.lines], charges)


def _line_rows(
    data: OrderIn, skus: list[SkuFacts], goods: list[rules.Goods], tax: rules.OrderTax
) -> list[tuple[Any, ...]]:
    rows = zip(data.lines, skus, goods, tax.lines, strict=True)
    return [
        (gnum, sku.id, line.qty, line.price, g.value, due.customs_tax, due.vat, due.consumption_tax)
        for gnum, (line, sku, g, due) in enumerate(rows, start=1)
    ]


def _weight(data: OrderIn, skus: list[SkuFacts]) -> Decimal:
    pairs = zip(data.lines, skus, strict=True)
    return sum((sku.unit_weight_kg * line.qty for line, sku in pairs), ZERO)


def price(data: OrderIn, skus: list[SkuFacts]) -> Priced:
    """Line values and tax by the formula, the tax charged, and acturalPaid (§5.2)."""
    goods = _goods(data, skus)
    tax = order_tax(data, goods)
    value = sum((g.value for g in goods), ZERO)
    charged = _charged_tax(data.tax_total, tax.total)
    paid = rules.expected_paid(value, data.freight, charged, data.discount)
    lines = _line_rows(data, skus, goods, tax)
    return Priced(lines, value, charged, tax.total, paid, _weight(data, skus))


def _charged_tax(given: Decimal | None, computed: Decimal) -> Decimal:
    """The merchant's tax when customs would accept it (within 5%, cbec-facts §5.2), else ours;
    one beyond the tolerance is refused by `_tax_issue`."""
    if given is not None and rules.within(given, computed):
        return given
    return computed


def _tax_issue(data: OrderIn, priced: Priced) -> FieldIssue | None:
    if data.tax_total is None or rules.within(data.tax_total, priced.computed):
        return None
    return FieldIssue(
        "tax_total",
        "tax_mismatch",
        f"tax_total {data.tax_total} is more than 5% from {priced.computed}, the tax on goods + "
        "freight + insured fee by the CBEC formula (customs' tolerance)",
        f"税款 {data.tax_total} 与按（货值+运费+保费）计算的应征税款 {priced.computed} "
        "相差超过海关允许的5%",
    )


def _amount_issues(data: OrderIn, priced: Priced) -> list[FieldIssue]:
    tax = _tax_issue(data, priced)
    issues = [tax] if tax else []
    if data.actural_paid is not None and data.actural_paid != priced.actural_paid:
        issues.append(
            FieldIssue(
                "actural_paid",
                "amount_mismatch",
                f"actural_paid must equal goods + freight + tax − discount = {priced.actural_paid}",
                f"实际支付金额应等于货值+运费+税款−优惠 = {priced.actural_paid}",
            )
        )
    if data.discount > priced.goods_value:
        issues.append(
            FieldIssue(
                "discount",
                "discount_exceeds_goods",
                "discount cannot exceed the goods value",
                "优惠金额不能超过货值",
            )
        )
    return issues


# The limit rule is the one the pre-flight and the simulator run (declarations.rules); intake
# names its fields and codes as its API always has.
_LIMIT_ISSUES = {
    "over_single_limit": ("actural_paid", "over_single_order_limit"),
    "over_annual_limit": ("buyer.id_number", "over_annual_limit"),
}


def _limit_issue(problem: rules.Problem) -> FieldIssue:
    field_path, code = _LIMIT_ISSUES[problem.code]
    return FieldIssue(field_path, code, problem.message, problem.zh)


def _buyer_issues(data: OrderIn, paid: Decimal, ledger: Ledger) -> list[FieldIssue]:
    problem = rules.id_number_problem(data.buyer.id_number)
    if problem:
        return [FieldIssue("buyer.id_number", "invalid_id_number", f"ID number {problem}")]
    spent = ledger.spent.get(data.buyer.id_number.upper(), ZERO)
    quantities = [line.qty for line in data.lines]
    found = rules.limit_problems(paid, spent, quantities)
    return [_limit_issue(p) for p in found if p.severity == "error"]


CODE_FIELDS = {"order": "order_no", "tracking": "tracking_no", "waybill": "waybill_no"}
FIELD_ZH = {"order_no": "订单号", "tracking_no": "物流跟踪号", "waybill_no": "运单号"}


def _check_unique(data: OrderIn, parties: tuple[int, int], ledger: Ledger) -> None:
    merchant_id, warehouse_id = parties
    if (merchant_id, data.order_no) in ledger.order_nos:
        raise Conflict("duplicate_order", f"order {data.order_no} exists", field="order_no")
    for name, in_use in (("tracking_no", ledger.tracking_nos), ("waybill_no", ledger.waybill_nos)):
        if getattr(data, name) in in_use:
            raise Conflict(f"duplicate_{name}", f"{name} {getattr(data, name)} is in use", name)
    for code, kind in order_codes(data):
        if (warehouse_id, code) in ledger.codes:
            raise _code_in_use(CODE_FIELDS[kind], code, data.warehouse)


def _code_in_use(name: str, code: str, warehouse: str) -> Conflict:
    """A code another order of this warehouse is scanned by; whose order is not said, as it may
    be another merchant's."""
    return Conflict(
        "code_in_use",
        f"{name} {code} is already a code of another order at warehouse {warehouse}; "
        "a scan of it would be ambiguous",
        field=name,
        message_zh=f"{FIELD_ZH[name]} {code} 在仓库 {warehouse} 已是另一订单的编码，扫描时无法区分",
    )


def _order_row(
    data: OrderIn, priced: Priced, parties: tuple[int, int], key: str | None, now: datetime
) -> tuple[Any, ...]:
    buyer, consignee, payment = data.buyer, data.consignee, data.payment
    return (
        *parties,
        data.order_no,
        key,
        "received",
        buyer.reg_no,
        buyer.name,
        buyer.id_number.upper(),
        buyer.phone,
        consignee.name,
        consignee.phone,
        consignee.address,
        priced.goods_value,
        data.freight,
        data.insured_fee,
        data.discount,
        priced.tax_total,
        priced.computed,
        priced.actural_paid,
        payment.code,
        payment.name,
        payment.transaction_id,
        now,
    )


def judge(
    book: Book,
    ledger: Ledger,
    data: OrderIn,
    *,
    merchant_scope: int | None = None,
    key: str | None = None,
    now: datetime,
) -> Taken:
    """Every rule an order must pass, in the order a merchant fixes them; raises a DomainError
    naming each field at fault. The ledger then holds this order as well."""
    parties = _parties(book, data, merchant_scope)
    priced = price(data, _skus(book, data, *parties))
    issues = _amount_issues(data, priced) or _buyer_issues(data, priced.actural_paid, ledger)
    if issues:
        raise ValidationFailed(issues)
    _check_unique(data, parties, ledger)
    ledger.add(data, parties, priced.actural_paid)
    parcel = (parties[1], data.tracking_no, data.waybill_no, priced.weight_kg, "expected", "none")
    row = _order_row(data, priced, parties, key, now)
    codes = [(parties[1], code, kind) for code, kind in order_codes(data)]
    taxes = (priced.actural_paid, priced.computed)
    return Taken(data.order_no, *taxes, row, priced.lines, parcel, codes)
