"""Order intake per second on PostgreSQL: the product's batch and single paths beside floors.

Batch floors write the rows intake would write, built off the clock: a Core insert per table
(`session.execute(insert(Model), dicts)`) and COPY per table. One-order floors have one order's
rows per transaction (order, lines, parcel and event, Core inserts and a commit); beside it, for
scale, the order row alone by Core and by the ORM.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col

from bench.harness import Row, figure, timed
from bench.stack import bench_stack
from kit.auth import SYSTEM
from kit.db import copy_rows, session_scope
from kit.outbox import EVENT_COLUMNS, Event, utcnow
from warehouses.demo import demo_order
from warehouses.intake import bulk
from warehouses.intake import repo as intake_repo
from warehouses.intake import service as intake
from warehouses.intake.batch import take_all
from warehouses.intake.rules import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PARCEL_COLUMNS,
    Ledger,
    Taken,
    judge,
)
from warehouses.models import Order, OrderLine, Parcel
from warehouses.profiles import WAREHOUSE_CODES
from warehouses.schemas import OrderIn

SINGLE, BATCH = 200, 1000
_runs = itertools.count()
Tables = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def orders(count: int, seed: int = 1111) -> list[OrderIn]:
    """`count` fresh demo orders spread over the five warehouses, unique across calls."""
    run = f"B{next(_runs):03d}"
    rng = random.Random(f"{seed}-{run}")  # new buyers each call: the annual limit stays clear
    codes = list(WAREHOUSE_CODES)
    return [demo_order(rng, i, codes[i % len(codes)], run) for i in range(count)]


def json_orders(count: int) -> list[dict[str, Any]]:
    """Fresh orders as a client posts them (JSON), for the product's batch API path."""
    return [o.model_dump(mode="json") for o in orders(count)]


def _single(todo: list[OrderIn]) -> int:
    for data in todo:
        with session_scope() as session:
            intake.create_order(session, data, SYSTEM)
    return len(todo)


def _batch_api(todo: list[dict[str, Any]]) -> int:
    """What POST /orders/batch does after parsing the body: validate, judge, store, commit."""
    with session_scope() as session:
        out = bulk.import_orders(session, bulk.json_candidates(todo), SYSTEM)
    return out.accepted


def _take_all(todo: list[OrderIn]) -> int:
    with session_scope() as session:
        return take_all(session, todo, SYSTEM)


def _taken(count: int) -> list[Taken]:
    """The rows intake writes for `count` fresh orders, worked out before the clock starts."""
    todo = orders(count)
    with session_scope() as session:
        book = intake_repo.load_book(session, todo)
    ledger, now = Ledger(), utcnow()
    return [judge(book, ledger, data, now=now) for data in todo]


def _event(order_id: int, taken: Taken) -> tuple[Any, ...]:
    payload = {"order_no": taken.order_no, "actural_paid": str(taken.actural_paid)}
    return ("order.received", "order", order_id, "system", None, payload, utcnow())


def _dicts(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _children(taken: list[Taken], ids: list[int]) -> Tables:
    pairs = list(zip(ids, taken, strict=True))
    lines = [(i, *line) for i, t in pairs for line in t.lines]
    return lines, [(i, *t.parcel) for i, t in pairs], [_event(i, t) for i, t in pairs]


def _insert_floor(taken: list[Taken]) -> int:
    """Core insert of each table's prebuilt dicts, ids returned for the orders."""
    order_rows = _dicts(ORDER_COLUMNS, [t.order for t in taken])
    with session_scope() as session:
        statement = insert(Order).returning(col(Order.id), sort_by_parameter_order=True)
        ids = [int(i or 0) for i in session.scalars(statement, order_rows)]
        lines, parcels, events = _children(taken, ids)
        session.execute(insert(OrderLine), _dicts(LINE_COLUMNS, lines))
        session.execute(insert(Parcel), _dicts(PARCEL_COLUMNS, parcels))
        session.execute(insert(Event), _dicts(EVENT_COLUMNS, events))
    return len(taken)


def _one_by_one(taken: list[Taken]) -> int:
    """The batch floor one order at a time: an order's rows in every table, one commit each."""
    return sum(_insert_floor([one]) for one in taken)


def _copy_floor(taken: list[Taken]) -> int:
    """COPY of each table's prebuilt tuples, ids drawn from the sequence in one query."""
    with session_scope() as session:
        ids = intake_repo.next_order_ids(session, len(taken))
        orders_ = [(i, *t.order) for i, t in zip(ids, taken, strict=True)]
        copy_rows(session, "orders", ("id", *ORDER_COLUMNS), orders_)
        lines, parcels, events = _children(taken, ids)
        copy_rows(session, "order_lines", LINE_COLUMNS, lines)
        copy_rows(session, "parcels", PARCEL_COLUMNS, parcels)
        copy_rows(session, "events", EVENT_COLUMNS, [_copy_event(e) for e in events])
    return len(taken)


def _copy_event(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[:5], json.dumps(row[5]), row[6])


def _per_order(write: Callable[[Session, Taken], None]) -> Callable[[list[Taken]], int]:
    def run(taken: list[Taken]) -> int:
        for one in taken:
            with session_scope() as session:
                write(session, one)
        return len(taken)

    return run


def _core_row(session: Session, taken: Taken) -> None:
    session.execute(insert(Order), dict(zip(ORDER_COLUMNS, taken.order, strict=True)))


def _orm_row(session: Session, taken: Taken) -> None:
    session.add(Order(**dict(zip(ORDER_COLUMNS, taken.order, strict=True))))


def run(repeat: int = 3, scale: float = 1.0) -> dict[str, Row]:
    """Orders/s of the product's batch and single paths, each beside the floor it compares to."""
    single, batch = max(5, int(SINGLE * scale)), max(10, int(BATCH * scale))
    with bench_stack("intake", redis=False):
        floor = figure(timed(lambda: _taken(batch), _insert_floor, repeat), "orders/s")
        results = {"bulk insert floor": {**floor, "x_floor": 1.0}}
        results["COPY floor (batch)"] = figure(
            timed(lambda: _taken(batch), _copy_floor, repeat), "orders/s", floor
        )
        results["batch API (bulk.import_orders, JSON in)"] = figure(
            timed(lambda: json_orders(batch), _batch_api, repeat), "orders/s", floor
        )
        results["batch, validated orders (intake_batch.take_all)"] = figure(
            timed(lambda: orders(batch), _take_all, repeat), "orders/s", floor
        )
        one = figure(timed(lambda: _taken(single), _one_by_one, repeat), "orders/s")
        results["same rows, one order per transaction (floor of one request)"] = {
            **one,
            "x_floor": 1.0,
        }
        results["order row only, Core insert + commit per order"] = figure(
            timed(lambda: _taken(single), _per_order(_core_row), repeat), "orders/s", one
        )
        results["ORM add + commit per order row"] = figure(
            timed(lambda: _taken(single), _per_order(_orm_row), repeat), "orders/s", one
        )
        alone = figure(timed(lambda: orders(single), _single, repeat), "orders/s", one)
        bulk_x = floor["median_per_s"] / alone["median_per_s"]
        results["single (1 tx each)"] = {**alone, "note": f"{bulk_x:.0f}× bulk insert floor"}
    return results
