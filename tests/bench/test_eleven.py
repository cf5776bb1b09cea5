"""The 11.11 simulation's parts: the untidy scan plan, stage spreads, memory shape, tax check."""

from __future__ import annotations

import os

from sqlalchemy import func
from sqlmodel import select

from bench.eleven import Plan, scan_plan
from bench.eleven_report import Marks, _spread, tax_check
from bench.memory import MB, MemorySampler, _shape
from kit.db import session_scope
from tests.conftest import Stack
from tests.identities import place_order
from warehouses.models import Order


def test_every_parcel_is_read_at_home_with_a_share_of_untidy_reads() -> None:
    plan = Plan(orders=2000, duplicate_share=0.1, unknown_share=0.05, wrong_warehouse_share=0.05)
    parcels = [(plan.warehouses[i % 5], f"IN{i:06d}") for i in range(2000)]
    reads = scan_plan(plan, parcels)
    assert set(parcels) <= set(reads)
    unknown = [code for _, code in reads if code.startswith("UNKNOWN")]
    wrong = [(w, c) for w, c in reads if c.startswith("IN") and (w, c) not in set(parcels)]
    assert 50 < len(unknown) < 150 and 50 < len(wrong) < 150
    assert 2000 + 150 < len(reads) < 2000 + 450


def test_stage_spread_gives_median_p95_and_max() -> None:
    shown = _spread([float(i) for i in range(1, 101)])
    assert shown["n"] == 100 and shown["median_s"] == 50.5
    assert shown["p95_s"] == 96.0 and shown["max_s"] == 100.0
    assert _spread([])["n"] == 0


def test_memory_shape_reads_quarters_and_peak() -> None:
    points = [(float(t), (100 + t) * int(MB)) for t in range(8)]
    shape = _shape(points)
    assert shape["peak_mb"] == 107.0 and shape["q2_mb"] == 104.0 and shape["last_mb"] == 107.0
    sampler = MemorySampler(every_s=0.01)
    sampler.watch("me", os.getpid())
    sampler.start().stop()
    assert sampler.summary()["me"]["peak_mb"] > 10


def test_the_tax_check_names_an_order_whose_tax_is_off_the_formula(stack: Stack) -> None:
    with session_scope() as session:
        first = (session.scalar(select(func.max(Order.id))) or 0) + 1
    orders = [place_order(index) for index in (1, 2, 3)]
    marks = Marks(first, 0, 0)
    with session_scope() as session:
        assert tax_check(session, marks) | {"formula": ""} == {
            "orders": 3,
            "match": 3,
            "off": [],
            "formula": "",
        }
        order = session.exec(select(Order).where(Order.order_no == orders[1]["order_no"])).one()
        order.tax_total *= 2  # far beyond customs' 5%
    with session_scope() as session:
        assert tax_check(session, marks)["off"] == [orders[1]["order_no"]]
