"""Order intake: every CBEC rule checked on the way in; a bad order leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from declarations import rules
from kit import outbox
from kit.auth import Principal, Role
from kit.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from warehouses.models import Merchant, Order, OrderLine, Parcel, Sku, Warehouse
from warehouses.schemas import OrderIn


@dataclass
class Priced:
    """An order's lines resolved against the account book, with money and tax worked out."""

    skus: list[Sku]
    taxes: list[rules.LineTax]
    goods_value: Decimal
    tax_total: Decimal
    actural_paid: Decimal


def _lookup(session: Session, data: OrderIn) -> tuple[Merchant, Warehouse]:
    merchant = session.exec(select(Merchant).where(Merchant.code == data.merchant)).first()
    warehouse = session.exec(select(Warehouse).where(Warehouse.code == data.warehouse)).first()
    issues = []
    if merchant is None:
        issues.append(FieldIssue("merchant", "unknown_merchant", f"no merchant {data.merchant}"))
    if warehouse is None:
        issues.append(
            FieldIssue("warehouse", "unknown_warehouse", f"no warehouse {data.warehouse}")
        )
    if issues:
        raise ValidationFailed(issues)
    assert merchant is not None and warehouse is not None
    return merchant, warehouse


def _skus(session: Session, data: OrderIn, merchant: Merchant, wh: Warehouse) -> list[Sku]:
    codes = {line.sku for line in data.lines}
    query = select(Sku).where(
        Sku.warehouse_id == wh.id,
        Sku.merchant_id == merchant.id,
        col(Sku.sku).in_(codes),
    )
    found = {sku.sku: sku for sku in session.exec(query)}
    issues = [
        FieldIssue(
            f"lines[{i}].sku",
            "sku_not_in_account_book",
            f"SKU {line.sku} is not in warehouse {wh.code}'s bonded account book",
        )
        for i, line in enumerate(data.lines)
        if line.sku not in found
    ]
    issues += [
        FieldIssue(f"lines[{i}].sku", "sku_without_hs_code", f"SKU {line.sku} has no HS code")
        for i, line in enumerate(data.lines)
        if line.sku in found and not found[line.sku].gcode
    ]
    if issues:
        raise ValidationFailed(issues)
    return [found[line.sku] for line in data.lines]


def _price(data: OrderIn, skus: list[Sku]) -> Priced:
    totals = [rules.round_money(line.price * line.qty) for line in data.lines]
    taxes = [
        rules.line_tax(total, sku.vat_rate, sku.consumption_tax_rate)
        for total, sku in zip(totals, skus, strict=True)
    ]
    goods = sum(totals, Decimal(0))
    tax = sum((t.total for t in taxes), Decimal(0))
    paid = rules.expected_paid(goods, data.freight, tax, data.discount)
    return Priced(skus, taxes, goods, tax, paid)


def _check_amounts(data: OrderIn, priced: Priced) -> list[FieldIssue]:
    issues = []
    if data.tax_total is not None and abs(data.tax_total - priced.tax_total) > rules.CENT:
        issues.append(
            FieldIssue(
                "tax_total",
                "tax_mismatch",
                f"tax_total should be {priced.tax_total} by the CBEC formula",
            )
        )
    if data.actural_paid is not None and data.actural_paid != priced.actural_paid:
        issues.append(
            FieldIssue(
                "actural_paid",
                "amount_mismatch",
                f"actural_paid must equal goods + freight + tax − discount = {priced.actural_paid}",
            )
        )
    if data.discount > priced.goods_value:
        issues.append(
            FieldIssue(
                "discount", "discount_exceeds_goods", "discount cannot exceed the goods value"
            )
        )
    return issues


def _check_buyer(session: Session, data: OrderIn, priced: Priced) -> list[FieldIssue]:
    problem = rules.id_number_problem(data.buyer.id_number)
    if problem:
        return [FieldIssue("buyer.id_number", "invalid_id_number", f"ID number {problem}")]
    if rules.over_single_limit(priced.actural_paid):
        return [
            FieldIssue(
                "actural_paid",
                "over_single_order_limit",
                f"order total {priced.actural_paid} exceeds the CNY 5,000 limit",
            )
        ]
    spent = _spent_this_year(session, data.buyer.id_number)
    if rules.over_annual_limit(spent, priced.actural_paid):
        return [
            FieldIssue(
                "buyer.id_number",
                "over_annual_limit",
                f"buyer has spent {spent} this year; this order would pass CNY 26,000",
            )
        ]
    return []


def _spent_this_year(session: Session, id_number: str) -> Decimal:
    start = datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)
    query = select(func.coalesce(func.sum(Order.actural_paid), 0)).where(
        Order.buyer_id_number == id_number, Order.created_at >= start, Order.status != "cancelled"
    )
    return Decimal(str(session.exec(query).one()))


def _check_unique(session: Session, data: OrderIn, merchant: Merchant) -> None:
    clash = session.exec(
        select(Order.id).where(Order.merchant_id == merchant.id, Order.order_no == data.order_no)
    ).first()
    if clash is not None:
        raise Conflict("duplicate_order", f"order {data.order_no} exists", field="order_no")
    for name in ("tracking_no", "waybill_no"):
        column = getattr(Parcel, name)
        if session.exec(select(Parcel.id).where(column == getattr(data, name))).first():
            raise Conflict(f"duplicate_{name}", f"{name} {getattr(data, name)} is in use", name)


def validate_order(session: Session, data: OrderIn, principal: Principal) -> Priced:
    """Every rule an order must pass; raises ValidationFailed naming each field at fault."""
    merchant, warehouse = _lookup(session, data)
    if principal.role == Role.merchant and principal.merchant_id != merchant.id:
        raise ValidationFailed.one("merchant", "not_your_merchant", "you may only post your orders")
    priced = _price(data, _skus(session, data, merchant, warehouse))
    issues = _check_amounts(data, priced) or _check_buyer(session, data, priced)
    if issues:
        raise ValidationFailed(issues)
    _check_unique(session, data, merchant)
    return priced


def _order_row(data: OrderIn, priced: Priced, merchant_id: int, warehouse_id: int) -> Order:
    return Order(
        merchant_id=merchant_id,
        warehouse_id=warehouse_id,
        order_no=data.order_no,
        buyer_reg_no=data.buyer.reg_no,
        buyer_name=data.buyer.name,
        buyer_id_number=data.buyer.id_number.upper(),
        buyer_phone=data.buyer.phone,
        consignee_name=data.consignee.name,
        consignee_phone=data.consignee.phone,
        consignee_address=data.consignee.address,
        goods_value=priced.goods_value,
        freight=data.freight,
        discount=data.discount,
        tax_total=priced.tax_total,
        actural_paid=priced.actural_paid,
        pay_code=data.payment.code,
        pay_name=data.payment.name,
        pay_transaction_id=data.payment.transaction_id,
    )


def _lines(order_id: int, data: OrderIn, priced: Priced) -> list[OrderLine]:
    return [
        OrderLine(
            order_id=order_id,
            gnum=i,
            sku_id=sku.id or 0,
            qty=line.qty,
            price=line.price,
            total_price=rules.round_money(line.price * line.qty),
            vat=tax.vat,
            consumption_tax=tax.consumption_tax,
        )
        for i, (line, sku, tax) in enumerate(
            zip(data.lines, priced.skus, priced.taxes, strict=True), start=1
        )
    ]


def _expected_weight(data: OrderIn, skus: list[Sku]) -> Decimal:
    return sum(
        (s.unit_weight_kg * line.qty for s, line in zip(skus, data.lines, strict=True)), Decimal(0)
    )


def _by_idempotency_key(session: Session, stored_key: str, data: OrderIn) -> Order | None:
    order = session.exec(select(Order).where(Order.idempotency_key == stored_key)).first()
    if order is not None and order.order_no != data.order_no:
        raise Conflict(
            "idempotency_key_reused",
            f"this idempotency key already created order {order.order_no}",
            field="idempotency_key",
        )
    return order


def stored_key(merchant: str, key: str | None) -> str | None:
    """Idempotency keys are per merchant: two merchants may pick the same key."""
    return f"{merchant}:{key}" if key else None


def submit_order(
    session: Session, data: OrderIn, principal: Principal, idempotency_key: str | None = None
) -> tuple[Order, bool]:
    """Create the order, or return the one this idempotency key made before (True if replayed)."""
    key = stored_key(data.merchant, idempotency_key)
    if key is not None:
        earlier = _by_idempotency_key(session, key, data)
        if earlier is not None:
            return earlier, True
    return create_order(session, data, principal, idempotency_key=key), False


def create_order(
    session: Session, data: OrderIn, principal: Principal, *, idempotency_key: str | None = None
) -> Order:
    """Validate and store an order with its lines and expected parcel; emits `order.received`."""
    priced = validate_order(session, data, principal)
    merchant, warehouse = _lookup(session, data)
    assert merchant.id is not None and warehouse.id is not None
    order = _order_row(data, priced, merchant.id, warehouse.id)
    order.idempotency_key = idempotency_key
    session.add(order)
    session.flush()
    assert order.id is not None
    session.add_all(_lines(order.id, data, priced))
    weight = _expected_weight(data, priced.skus)
    session.add(
        Parcel(
            order_id=order.id,
            warehouse_id=warehouse.id,
            tracking_no=data.tracking_no,
            waybill_no=data.waybill_no,
            expected_weight_kg=weight,
        )
    )
    outbox.record(
        session,
        "order.received",
        ("order", order.id),
        actor=principal.actor,
        payload={"order_no": order.order_no, "actural_paid": str(order.actural_paid)},
    )
    session.flush()
    return order


def _own_order(session: Session, order_no: str, principal: Principal) -> Order:
    query = select(Order).where(Order.order_no == order_no)
    if principal.role == Role.merchant:
        query = query.where(Order.merchant_id == principal.merchant_id)
    orders = list(session.exec(query))
    if not orders:
        raise NotFound("order_not_found", f"no order {order_no}", field="order_no")
    if len(orders) > 1:
        raise Conflict("ambiguous_order", f"{order_no} names orders of several merchants")
    return orders[0]


def cancel_order(session: Session, order_no: str, reason: str, principal: Principal) -> Order:
    """The merchant cancels an order; a parcel that already left the gate cannot be called back."""
    order = _own_order(session, order_no, principal)
    if order.status == "cancelled":
        return order
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).first()
    if parcel is not None and parcel.floor_state == "shipped":
        raise Conflict("order_shipped", f"order {order_no} has already left the warehouse")
    order.status = "cancelled"
    session.add(order)
    assert order.id is not None
    outbox.record(
        session,
        "order.cancelled",
        ("order", order.id),
        actor=principal.actor,
        payload={"order_no": order_no, "reason": reason},
    )
    return order
