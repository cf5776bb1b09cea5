"""Queries and inserts of batched intake: reference data, numbers in use, one insert per table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Numeric,
    String,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.sql import Executable
from sqlmodel import Session, col

from declarations.fmt import china_now, china_year_start
from kit.db import COPY_PAYS_FROM, copy_rows
from warehouses.intake.rules import (
    CODE_COLUMNS,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PARCEL_COLUMNS,
    Book,
    Ledger,
    SkuFacts,
    Taken,
    order_codes,
)
from warehouses.models import Merchant, Order, OrderCode, OrderLine, Parcel, Sku, Warehouse
from warehouses.schemas import OrderIn

_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, :n)"
)


def _among(column: Any, name: str, postgres: bool) -> Any:
    if postgres:  # one array parameter: an IN list renders and sends a placeholder per value
        return col(column) == any_(bindparam(name, type_=ARRAY(String)))
    return col(column).in_(bindparam(name, expanding=True))


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Statements are built once per dialect: building one and its cache key costs more CPU than its
# round trip here. They are typed Executable, as their rows are read by position.
@cache
def _book(postgres: bool) -> Executable:
    """Every named merchant beside every named warehouse, with the named SKUs of that pair's
    account book (none: one row of NULLs): unknown codes and missing SKUs show in one query."""
    return (
        select(
            col(Merchant.code),
            col(Merchant.id),
            col(Warehouse.code),
            col(Warehouse.id),
            col(Sku.sku),
            col(Sku.id),
            col(Sku.gcode),
            col(Sku.vat_rate),
            col(Sku.consumption_tax_rate),
            col(Sku.unit_weight_kg),
            col(Sku.tariff_rate),
        )
        .select_from(Merchant)
        .join(Warehouse, true())
        .outerjoin(
            Sku,
            (col(Sku.merchant_id) == col(Merchant.id))
            & (col(Sku.warehouse_id) == col(Warehouse.id))
            & _among(Sku.sku, "codes", postgres),
        )
        .where(_among(Merchant.code, "merchants", postgres))
        .where(_among(Warehouse.code, "warehouses", postgres))
    )


@cache
def _keyed(postgres: bool) -> Executable:
    return select(col(Order.idempotency_key), col(Order.id), col(Order.order_no)).where(
        _among(Order.idempotency_key, "keys", postgres)
    )


def _counted() -> Any:
    """What an order counts towards the annual limit: what the buyer paid, less the goods
    value customs took back through a CEB625 return (GACC 2020 No.45, cbec-facts §5.3), never
    below 0 — as the simulator's register keeps it."""
    paid, returned = col(Order.actural_paid), col(Order.returned_value)
    return case((paid > returned, paid - returned), else_=literal(0, Numeric(19, 2)))


@cache
def _held(postgres: bool) -> Executable:
    """Each buyer's spending this calendar year, cancelled orders aside and returns given back
    (the CNY 26,000 limit), the order, tracking and waybill numbers in use, and the codes each
    warehouse holds."""
    no_amount = literal(None, Numeric(19, 2))
    return union_all(
        select(
            literal("spent"),
            literal(0),
            col(Order.buyer_id_number),
            func.sum(_counted()),
        )
        .where(_among(Order.buyer_id_number, "buyers", postgres))
        .where(col(Order.created_at) >= bindparam("start"), col(Order.status) != "cancelled")
        .group_by(col(Order.buyer_id_number)),
        select(literal("order"), col(Order.merchant_id), col(Order.order_no), no_amount).where(
            _among(Order.order_no, "order_nos", postgres)
        ),
        select(literal("tracking"), literal(0), col(Parcel.tracking_no), no_amount).where(
            _among(Parcel.tracking_no, "tracking_nos", postgres)
        ),
        select(literal("waybill"), literal(0), col(Parcel.waybill_no), no_amount).where(
            _among(Parcel.waybill_no, "waybill_nos", postgres)
        ),
        select(literal("code"), col(OrderCode.warehouse_id), col(OrderCode.code), no_amount).where(
            _among(OrderCode.code, "codes", postgres)
        ),
    )


_INSERT_ORDERS: Executable = insert(Order).returning(col(Order.id), sort_by_parameter_order=True)
_INSERT_LINES = insert(OrderLine)
_INSERT_PARCELS = insert(Parcel)
_INSERT_CODES = insert(OrderCode)


def load_book(session: Session, orders: Sequence[OrderIn]) -> Book:
    """The merchants, warehouses and account-book SKUs these orders name, in one query."""
    named = {
        "codes": list({line.sku for order in orders for line in order.lines}),
        "merchants": list({order.merchant for order in orders}),
        "warehouses": list({order.warehouse for order in orders}),
    }
    book = Book({}, {}, {})
    for row in session.connection().execute(_book(on_postgresql(session)), named):
        book.merchants[row[0]] = row[1]
        book.warehouses[row[2]] = row[3]
        if row[4] is not None:
            book.skus[(row[3], row[1], row[4])] = SkuFacts(*row[5:])
    return book


def keyed_orders(session: Session, keys: set[str]) -> dict[str, tuple[int, str]]:
    """Orders already made with these (stored) idempotency keys: key → (id, order_no)."""
    if not keys:
        return {}
    rows = session.connection().execute(_keyed(on_postgresql(session)), {"keys": list(keys)})
    return {row[0]: (row[1], row[2]) for row in rows}


def fill_ledger(session: Session, ledger: Ledger, orders: Sequence[OrderIn]) -> None:
    """What the database already holds for these orders, in one query: the spending this year
    of buyers not seen before, and order, tracking and waybill numbers in use."""
    buyers = {o.buyer.id_number.upper() for o in orders} - ledger.spent.keys()
    ledger.spent.update(dict.fromkeys(buyers, Decimal(0)))
    held = session.connection().execute(_held(on_postgresql(session)), _held_params(orders, buyers))
    for kind, merchant_id, number, amount in held:
        if kind == "spent":
            ledger.spent[number] = Decimal(str(amount))
        elif kind == "order":
            ledger.order_nos.add((merchant_id, number))
        elif kind == "code":
            ledger.codes.add((merchant_id, number))  # the warehouse's id, in this column
        else:
            (ledger.tracking_nos if kind == "tracking" else ledger.waybill_nos).add(number)


def _held_params(orders: Sequence[OrderIn], buyers: set[str]) -> dict[str, Any]:
    return {
        "buyers": list(buyers),
        "start": china_year_start(china_now().year).astimezone(UTC),
        "order_nos": list({o.order_no for o in orders}),
        "tracking_nos": list({o.tracking_no for o in orders}),
        "waybill_nos": list({o.waybill_no for o in orders}),
        "codes": list({code for o in orders for code, _kind in order_codes(o)}),
    }


def store(session: Session, taken: Sequence[Taken]) -> list[int]:
    """Insert the orders, their lines and parcels, one statement a table (COPY for a large
    batch on PostgreSQL); returns the new order ids in the same order."""
    if not taken:
        return []
    if len(taken) >= COPY_PAYS_FROM and on_postgresql(session):
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
    copy_rows(session, "order_codes", CODE_COLUMNS, _code_rows(pairs))
    return ids


def _insert(session: Session, taken: Sequence[Taken]) -> list[int]:
    db = session.connection()
    rows = _dicts(ORDER_COLUMNS, (t.order for t in taken))
    ids = [int(i) for i in db.execute(_INSERT_ORDERS, rows).scalars()]
    pairs = list(zip(ids, taken, strict=True))
    lines = ((i, *line) for i, t in pairs for line in t.lines)
    db.execute(_INSERT_LINES, _dicts(LINE_COLUMNS, lines))
    db.execute(_INSERT_PARCELS, _dicts(PARCEL_COLUMNS, ((i, *t.parcel) for i, t in pairs)))
    db.execute(_INSERT_CODES, _dicts(CODE_COLUMNS, _code_rows(pairs)))
    return ids


def _code_rows(pairs: Sequence[tuple[int, Taken]]) -> Iterator[tuple[Any, ...]]:
    """Each order's scan codes, the last of its rows to go in: their unique index is what stops
    a concurrent intake of the same code at this warehouse."""
    return ((i, *code) for i, t in pairs for code in t.codes)


def _dicts(columns: Sequence[str], rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]
