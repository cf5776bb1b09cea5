"""The 11.11 simulation's pure parts: the untidy scan plan, stage spreads, memory shape."""

from __future__ import annotations

import os

from bench.eleven import Plan, scan_plan
from bench.eleven_report import _spread
from bench.memory import MB, MemorySampler, _shape


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
