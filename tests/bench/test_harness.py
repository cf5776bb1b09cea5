"""The bench harness: medians, spreads, ratios to a floor, and the tables it prints."""

from __future__ import annotations

import pytest

from bench.harness import figure, latency_ms, markdown, rates, rows_of, timed


def test_figure_reports_median_spread_and_ratio_to_its_floor() -> None:
    floor = figure([100.0, 110.0, 90.0], "rows/s")
    row = figure([40.0, 50.0, 60.0], "rows/s", floor, items=7)
    assert floor["median_per_s"] == 100.0
    assert floor["spread"] == pytest.approx(0.2)
    assert row["x_floor"] == pytest.approx(2.0)
    assert row["items"] == 7 and row["unit"] == "rows/s"


def test_rates_and_timed_count_items_per_second_without_the_preparation() -> None:
    assert len(rates(lambda: 10, 3)) == 3
    prepared: list[int] = []

    def prepare() -> list[int]:
        prepared.append(1)
        return [1, 2, 3]

    found = timed(prepare, len, 2)
    assert len(found) == 2 and all(r > 0 for r in found)
    assert len(prepared) == 3  # warm-up + two runs, each prepared off the clock


def test_latency_percentiles_are_in_milliseconds() -> None:
    samples = [i / 1000 for i in range(1, 101)]
    shown = latency_ms(samples)
    assert shown["p50_ms"] == pytest.approx(51.0)
    assert shown["p99_ms"] == pytest.approx(100.0)
    assert latency_ms([]) == {"p50_ms": 0.0, "p99_ms": 0.0}


def test_rows_of_any_part_shape_make_one_markdown_table() -> None:
    rows = rows_of("labels", {"pdf": {"median_per_s": 200.0, "spread": 0.1, "x_floor": 4.0}})
    rows += rows_of("odd", {"count": 3})
    text = markdown(rows)
    assert "| labels | pdf | 200 | 10% | 4.00 |" in text
    assert "| odd | count | 3 |" in text
