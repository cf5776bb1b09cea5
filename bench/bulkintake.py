"""Batched order intake for the benchmarks: intake's own per-order rules, one insert per table.

A stand-in until warehouses offers a batch intake of its own; it reuses intake's pricing and
row builders so no CBEC rule is written twice, and reads the reference data once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from declarations import rules
from kit.outbox import Event, utcnow
from warehouses import intake
from warehouses.models import Merchant, Order, OrderLine, Parcel, Sku, Warehouse
from warehouses.schemas import OrderIn


@dataclass
class Reference:
    """Merchants, warehouses and account-book SKUs, read once."""

    merchants: dict[str, int]
    warehouses: dict[str, int]
    skus: dict[tuple[int, int, str], Sku]

    @classmethod
    def load(cls, session: Session) -> Reference:
        merchants = {m.code: m.id or 0 for m in session.scalars(select(Merchant))}
        warehouses = {w.code: w.id or 0 for w in session.scalars(select(Warehouse))}
        skus = {(s.warehouse_id, s.merchant_id, s.sku): s for s in session.scalars(select(Sku))}
        return cls(merchants, warehouses, skus)


@dataclass
class Accepted:
    data: OrderIn
    priced: intake.Priced
    merchant_id: int
    warehouse_id: int


def _accept(ref: Reference, data: OrderIn, spent: dict[str, Decimal]) -> Accepted | None:
    merchant_id = ref.merchants.get(data.merchant)
    warehouse_id = ref.warehouses.get(data.warehouse)
    if merchant_id is None or warehouse_id is None:
        return None
    skus = [ref.skus.get((warehouse_id, merchant_id, line.sku)) for line in data.lines]
    if any(sku is None for sku in skus):
        return None
    priced = intake._price(data, [s for s in skus if s is not None])
    if intake._check_amounts(data, priced) or _buyer_refused(data, priced, spent):
        return None
    buyer = data.buyer.id_number.upper()
    spent[buyer] = spent.get(buyer, Decimal(0)) + priced.actural_paid
    return Accepted(data, priced, merchant_id, warehouse_id)


def _buyer_refused(data: OrderIn, priced: intake.Priced, spent: dict[str, Decimal]) -> bool:
    if rules.id_number_problem(data.buyer.id_number) or rules.over_single_limit(
        priced.actural_paid
    ):
        return True
    so_far = spent.get(data.buyer.id_number.upper(), Decimal(0))
    return rules.over_annual_limit(so_far, priced.actural_paid)


def _spent(session: Session, orders: Sequence[OrderIn]) -> dict[str, Decimal]:
    start = datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)
    ids = {o.buyer.id_number.upper() for o in orders}
    query = (
        select(col(Order.buyer_id_number), func.sum(col(Order.actural_paid)))
        .where(col(Order.buyer_id_number).in_(ids), col(Order.created_at) >= start)
        .where(col(Order.status) != "cancelled")
        .group_by(col(Order.buyer_id_number))
    )
    return {row[0]: Decimal(str(row[1])) for row in session.execute(query)}


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(exclude={"id"}))


def _insert_orders(session: Session, accepted: list[Accepted]) -> list[int]:
    rows = [
        _dump(intake._order_row(a.data, a.priced, a.merchant_id, a.warehouse_id)) for a in accepted
    ]
    statement = insert(Order).returning(col(Order.id), sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))


def _insert_children(session: Session, accepted: list[Accepted], ids: list[int]) -> None:
    lines, parcels, events = [], [], []
    for order_id, a in zip(ids, accepted, strict=True):
        lines += [_dump(line) for line in intake._lines(order_id, a.data, a.priced)]
        parcels.append(_parcel(order_id, a))
        events.append(_event(order_id, a))
    session.execute(insert(OrderLine), lines)
    session.execute(insert(Parcel), parcels)
    session.execute(insert(Event), events)


def _parcel(order_id: int, a: Accepted) -> dict[str, Any]:
    weight = intake._expected_weight(a.data, a.priced.skus)
    return _dump(
        Parcel(
            order_id=order_id,
            warehouse_id=a.warehouse_id,
            tracking_no=a.data.tracking_no,
            waybill_no=a.data.waybill_no,
            expected_weight_kg=weight,
        )
    )


def _event(order_id: int, a: Accepted) -> dict[str, Any]:
    return {
        "topic": "order.received",
        "subject_type": "order",
        "subject_id": order_id,
        "actor": "system",
        "source": None,
        "payload": {"order_no": a.data.order_no, "actural_paid": str(a.priced.actural_paid)},
        "occurred_at": utcnow(),
    }


def intake_batch(session: Session, ref: Reference, orders: Sequence[OrderIn]) -> int:
    """Check every order by intake's rules, insert the accepted ones; returns how many."""
    spent = _spent(session, orders)
    accepted = [a for a in (_accept(ref, o, spent) for o in orders) if a is not None]
    if accepted:
        _insert_children(session, accepted, _insert_orders(session, accepted))
    return len(accepted)
