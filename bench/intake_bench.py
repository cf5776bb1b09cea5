"""Order intake per second on PostgreSQL: one by one, in a batch, beside a bulk insert floor."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import col

from bench import bulkintake
from bench.harness import Row, figure, timed
from bench.stack import bench_stack
from kit.auth import SYSTEM
from kit.db import session_scope
from kit.outbox import Event
from warehouses import intake
from warehouses.demo import demo_order
from warehouses.models import Order, OrderLine, Parcel
from warehouses.profiles import WAREHOUSE_CODES
from warehouses.schemas import OrderIn

try:
    from warehouses import bulk as _bulk
except ImportError:  # the floor's batch intake has not landed in this checkout
    _bulk = None  # type: ignore[assignment]

SINGLE, BATCH = 200, 1000
_runs = itertools.count()


def orders(count: int, seed: int = 1111) -> list[OrderIn]:
    """`count` fresh demo orders spread over the five warehouses, unique across calls."""
    run = f"B{next(_runs):03d}"
    rng = random.Random(f"{seed}-{run}")  # new buyers each call: the annual limit stays clear
    codes = list(WAREHOUSE_CODES)
    return [demo_order(rng, i, codes[i % len(codes)], run) for i in range(count)]


def _single(todo: list[OrderIn]) -> int:
    for data in todo:
        with session_scope() as session:
            intake.create_order(session, data, SYSTEM)
    return len(todo)


def _batch_api(todo: list[OrderIn]) -> int:
    """The floor's batch intake (warehouses.bulk) when it exists; else create_order × N, 1 tx."""
    with session_scope() as session:
        if _bulk is not None:
            raw = [o.model_dump(mode="json") for o in todo]
            return _bulk.import_orders(session, _bulk.json_candidates(raw), SYSTEM).accepted
        for data in todo:
            intake.create_order(session, data, SYSTEM)
    return len(todo)


def _bulk_intake(todo: list[OrderIn]) -> int:
    with session_scope() as session:
        ref = bulkintake.Reference.load(session)
        return bulkintake.intake_batch(session, ref, todo)


def _prepared(count: int) -> list[bulkintake.Accepted]:
    """What bulk intake accepts for `count` fresh orders, worked out before the clock starts."""
    with session_scope() as session:
        ref = bulkintake.Reference.load(session)
    spent: dict[str, Decimal] = {}
    accepted = [bulkintake._accept(ref, o, spent) for o in orders(count)]
    return [a for a in accepted if a is not None]


def _bulk_floor(accepted: list[bulkintake.Accepted]) -> int:
    """The same rows as bulk intake, but every row dict built off the clock too."""
    order_rows = [
        bulkintake._dump(intake._order_row(a.data, a.priced, a.merchant_id, a.warehouse_id))
        for a in accepted
    ]
    with session_scope() as session:
        statement = insert(Order).returning(col(Order.id), sort_by_parameter_order=True)
        ids = [int(i or 0) for i in session.scalars(statement, order_rows)]
        lines, parcels, events = _children(accepted, ids)
        session.execute(insert(OrderLine), lines)
        session.execute(insert(Parcel), parcels)
        session.execute(insert(Event), events)
    return len(accepted)


def _children(accepted: list[bulkintake.Accepted], ids: list[int]) -> tuple[list, list, list]:
    lines, parcels, events = [], [], []
    for order_id, a in zip(ids, accepted, strict=True):
        lines += [bulkintake._dump(x) for x in intake._lines(order_id, a.data, a.priced)]
        parcels.append(bulkintake._parcel(order_id, a))
        events.append(bulkintake._event(order_id, a))
    return lines, parcels, events


def run(repeat: int = 3, scale: float = 1.0) -> dict[str, Row]:
    """Orders/s: single (one request each), batch, bench bulk intake, and the bulk-insert floor."""
    single, batch = max(5, int(SINGLE * scale)), max(10, int(BATCH * scale))
    with bench_stack("intake", redis=False):
        floor = figure(timed(lambda: _prepared(batch), _bulk_floor, repeat), "orders/s")
        results = {"bulk insert floor": {**floor, "x_floor": 1.0}}
        shown = "bulk.import_orders" if _bulk is not None else "create_order×N, 1 tx"
        results[f"batch ({shown})"] = figure(
            timed(lambda: orders(batch), _batch_api, repeat), "orders/s", floor
        )
        results["bench bulk intake"] = figure(
            timed(lambda: orders(batch), _bulk_intake, repeat), "orders/s", floor
        )
        results["single (1 tx each)"] = figure(
            timed(lambda: orders(single), _single, repeat), "orders/s", floor
        )
    return results
