"""Queries and inserts of batched intake: reference data, numbers in use, one insert per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import Session, col

from kit.db import copy_rows
from warehouses.intake_rules import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PARCEL_COLUMNS,
    Book,
    Ledger,
    SkuFacts,
    Taken,
)
from warehouses.models import Merchant, Order, OrderLine, Parcel, Sku, Warehouse
from warehouses.schemas import OrderIn

_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, :n)"
)


def load_book(session: Session, orders: Sequence[OrderIn]) -> Book:
    """Merchants, warehouses, and the account-book SKUs these orders name, three queries."""
    merchants = {r[0]: r[1] for r in session.execute(select(col(Merchant.code), col(Merchant.id)))}
    warehouses = {
        r[0]: r[1] for r in session.execute(select(col(Warehouse.code), col(Warehouse.id)))
    }
    codes = {line.sku for order in orders for line in order.lines}
    query = select(
        col(Sku.warehouse_id),
        col(Sku.merchant_id),
        col(Sku.sku),
        col(Sku.id),
        col(Sku.gcode),
        col(Sku.vat_rate),
        col(Sku.consumption_tax_rate),
        col(Sku.unit_weight_kg),
    ).where(col(Sku.sku).in_(codes))
    skus = {(r[0], r[1], r[2]): SkuFacts(*r[3:]) for r in session.execute(query)}
    return Book(merchants, warehouses, skus)


def keyed_orders(session: Session, keys: set[str]) -> dict[str, tuple[int, str]]:
    """Orders already made with these (stored) idempotency keys: key → (id, order_no)."""
    if not keys:
        return {}
    query = select(col(Order.idempotency_key), col(Order.id), col(Order.order_no)).where(
        col(Order.idempotency_key).in_(keys)
    )
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def fill_ledger(session: Session, ledger: Ledger, orders: Sequence[OrderIn]) -> None:
    """What the database already holds for these orders: buyers' spending, numbers in use."""
    buyers = {o.buyer.id_number.upper() for o in orders} - ledger.spent.keys()
    ledger.spent.update(dict.fromkeys(buyers, Decimal(0)) | _spent(session, buyers))
    ledger.order_nos.update(_existing_order_nos(session, {o.order_no for o in orders}))
    tracking, waybills = _numbers_in_use(session, orders)
    ledger.tracking_nos.update(tracking)
    ledger.waybill_nos.update(waybills)


def _spent(session: Session, buyers: set[str]) -> dict[str, Decimal]:
    if not buyers:
        return {}
    start = datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)
    query = (
        select(col(Order.buyer_id_number), func.sum(col(Order.actural_paid)))
        .where(col(Order.buyer_id_number).in_(buyers), col(Order.created_at) >= start)
        .where(col(Order.status) != "cancelled")
        .group_by(col(Order.buyer_id_number))
    )
    return {row[0]: Decimal(str(row[1])) for row in session.execute(query)}


def _existing_order_nos(session: Session, order_nos: set[str]) -> set[tuple[int, str]]:
    query = select(col(Order.merchant_id), col(Order.order_no)).where(
        col(Order.order_no).in_(order_nos)
    )
    return set(session.execute(query).tuples())


def _numbers_in_use(session: Session, orders: Sequence[OrderIn]) -> tuple[set[str], set[str]]:
    tracking = {o.tracking_no for o in orders}
    waybills = {o.waybill_no for o in orders}
    query = select(col(Parcel.tracking_no), col(Parcel.waybill_no)).where(
        col(Parcel.tracking_no).in_(tracking) | col(Parcel.waybill_no).in_(waybills)
    )
    rows = list(session.execute(query))
    return {r[0] for r in rows} & tracking, {r[1] for r in rows} & waybills


def store(session: Session, taken: Sequence[Taken]) -> list[int]:
    """Insert the orders, their lines and parcels, one statement (COPY on PostgreSQL) a table;
    returns the new order ids in the same order."""
    if not taken:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, taken)
    return _insert(session, taken)


def next_order_ids(session: Session, count: int) -> list[int]:
    """`count` new order ids from the sequence in one query, for COPY to write (PostgreSQL)."""
    return [int(i) for i in session.scalars(_NEXT_IDS, {"n": count})]


def _copy(session: Session, taken: Sequence[Taken]) -> list[int]:
    ids = next_order_ids(session, len(taken))
    pairs = list(zip(ids, taken, strict=True))
    copy_rows(session, "orders", ("id", *ORDER_COLUMNS), ((i, *t.order) for i, t in pairs))
    lines = ((i, *line) for i, t in pairs for line in t.lines)
    copy_rows(session, "order_lines", LINE_COLUMNS, lines)
    copy_rows(session, "parcels", PARCEL_COLUMNS, ((i, *t.parcel) for i, t in pairs))
    return ids


def _insert(session: Session, taken: Sequence[Taken]) -> list[int]:
    statement = insert(Order).returning(col(Order.id), sort_by_parameter_order=True)
    rows = _dicts(ORDER_COLUMNS, (t.order for t in taken))
    ids = [int(i or 0) for i in session.scalars(statement, rows)]
    pairs = list(zip(ids, taken, strict=True))
    lines = ((i, *line) for i, t in pairs for line in t.lines)
    session.execute(insert(OrderLine), _dicts(LINE_COLUMNS, lines))
    session.execute(insert(Parcel), _dicts(PARCEL_COLUMNS, ((i, *t.parcel) for i, t in pairs)))
    return ids


def _dicts(columns: Sequence[str], rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]
