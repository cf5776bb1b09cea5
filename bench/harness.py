"""Shared harness of the benchmarks: timed repeats, medians with spread, ratios, the table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rich.table import Table

Row = dict[str, Any]
T = TypeVar("T")


def rates(work: Callable[[], int], repeat: int, *, warmup: bool = True) -> list[float]:
    """Items per second of `work` (which returns how many items it did), `repeat` times."""
    if warmup:
        work()
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = work()
        found.append(done / (time.perf_counter() - started))
    return found


def timed(prepare: Callable[[], T], work: Callable[[T], int], repeat: int) -> list[float]:
    """Like `rates`, but each run's input is prepared off the clock first (warm-up included)."""
    work(prepare())
    found = []
    for _ in range(repeat):
        ready = prepare()
        started = time.perf_counter()
        done = work(ready)
        found.append(done / (time.perf_counter() - started))
    return found


def figure(runs: list[float], unit: str, floor: Row | None = None, **extra: Any) -> Row:
    """A median with its relative spread (max−min)/median and its ratio to `floor`."""
    median = statistics.median(runs)
    row: Row = {
        "median_per_s": median,
        "spread": (max(runs) - min(runs)) / median if median else 0.0,
        "unit": unit,
        "runs": [round(r, 2) for r in runs],
        **extra,
    }
    if floor is not None:
        row["x_floor"] = floor["median_per_s"] / median if median else float("inf")
    return row


def latency_ms(samples: list[float]) -> dict[str, float]:
    """p50 and p99 of latencies given in seconds, in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50_ms": 0.0, "p99_ms": 0.0}

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99)}


def rows_of(part: str, result: Mapping[str, Any]) -> list[Row]:
    """Flatten one part's result (scenario → figures) into table rows, tolerating any shape."""
    rows = []
    for name, value in result.items():
        if isinstance(value, Mapping):
            rows.append({"part": part, "scenario": name, **value})
        else:
            rows.append({"part": part, "scenario": name, "value": value})
    return rows


def _number(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else ""


def _rate(row: Row) -> str:
    value = row.get("median_per_s", row.get("value"))
    return _number(value, ",.0f") if isinstance(value, int | float) else str(value or "")


def _extra(row: Row) -> str:
    shown = ("p50_ms", "p99_ms", "labels", "items", "offered_per_s", "note")
    parts = [f"{k}={_number(row[k], ',.1f') or row[k]}" for k in shown if k in row]
    return " ".join(parts)


def table(rows: list[Row], title: str = "Clearway benchmarks") -> Table:
    """The result table: part, scenario, median/s, spread, ratio to floor, extras."""
    out = Table(title=title)
    for column in ("part", "scenario"):
        out.add_column(column)
    for column in ("median/s", "spread", "x floor"):
        out.add_column(column, justify="right")
    out.add_column("notes")
    for row in rows:
        out.add_row(
            row["part"],
            row["scenario"],
            _rate(row),
            _number(row.get("spread"), ".0%"),
            _number(row.get("x_floor"), ".2f"),
            _extra(row),
        )
    return out


def markdown(rows: list[Row]) -> str:
    """The same table as Markdown, for BENCHMARKS.md."""
    lines = [
        "| part | scenario | median/s | spread | × floor | notes |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        cells = [
            row["part"],
            row["scenario"],
            _rate(row),
            _number(row.get("spread"), ".0%"),
            _number(row.get("x_floor"), ".2f"),
            _extra(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
