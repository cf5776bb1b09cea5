"""The 11.11 simulation end to end, small: every parcel released or held, none stuck."""

from __future__ import annotations

from bench.eleven import Plan, simulate
from tests.conftest import Stack


def test_a_small_wave_runs_to_the_end_with_nothing_stuck(embedded: Stack) -> None:
    plan = Plan(orders=40, warehouses=("HZ", "SH"), scanners=4, reject_rate=0.1, timeout_s=120)
    report = simulate(plan)
    assert report["stuck"] == 0
    assert report["released"] + report["cases"].get("held", 0) == 40
    assert report["gated"] == report["labels_printed"] == report["released"]
    assert report["scans"]["matched"] == 40
    fixes = report["auto_fix"]
    assert fixes["rejected"] > 0 and fixes["corrected"] == fixes["rejected"]
    assert report["database"] == {"dialect": "sqlite"}
    assert set(report["memory"]) == {"demo"}  # embedded: workers and customs run as threads
    assert report["tax"]["orders"] == report["tax"]["match"] == 40, report["tax"]
