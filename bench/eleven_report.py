"""The 11.11 report, read back from the database: throughput, scan-to-release times, time per
stage, outcomes, anything lost or stuck, and each process's memory."""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text
from sqlmodel import Session, col

from clearance.pipeline.models import ClearanceCase
from declarations import rules
from kit.db import session_scope
from kit.outbox import Event
from warehouses.models import Order, OrderLine, Parcel, Scan, Sku

if TYPE_CHECKING:
    from bench.eleven import Plan, Timings

MOVING = (
    "matched",
    "declared",
    "submitted",
    "declared_to_eport",
    "accepted",
    "cleared",
    "manual_review",
    "inspection",
)
STAGES = (
    ("parcel.matched", "clearance.declared"),
    ("clearance.declared", "clearance.submitted"),
    ("clearance.submitted", "clearance.declared_to_eport"),
    ("clearance.declared_to_eport", "clearance.accepted"),
    ("clearance.accepted", "clearance.cleared"),
    ("clearance.cleared", "clearance.released"),
    ("parcel.matched", "clearance.released"),
)


@dataclass(frozen=True)
class Marks:
    """Where this run's rows begin, so a shared database reports only this run."""

    first_order_id: int
    first_scan_id: int
    first_event_id: int


def open_work(marks: Marks) -> int:
    """Parcels of this run still on their way: matched without a case, a case still moving, or
    gated but not yet shipped."""
    with session_scope() as session:
        uncased = session.scalar(
            select(func.count())
            .select_from(Parcel)
            .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
            .where(col(Parcel.order_id) >= marks.first_order_id)
            .where(col(Parcel.matched_at).is_not(None), col(ClearanceCase.id).is_(None))
        )
        moving = session.scalar(
            select(func.count())
            .select_from(ClearanceCase)
            .where(col(ClearanceCase.order_id) >= marks.first_order_id)
            .where(col(ClearanceCase.state).in_(MOVING))
        )
        # Gated at the floor but not yet recorded as shipped by the pipeline.
        unshipped = session.scalar(
            select(func.count())
            .select_from(ClearanceCase)
            .join(Parcel, col(Parcel.id) == col(ClearanceCase.parcel_id))
            .where(col(ClearanceCase.order_id) >= marks.first_order_id)
            .where(col(ClearanceCase.state) == "released", col(Parcel.floor_state) == "shipped")
        )
    return int(uncased or 0) + int(moving or 0) + int(unshipped or 0)


def _counts(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): int(count) for key, count in rows.tuples()}


def _first_times(session: Session, marks: Marks) -> dict[int, dict[str, datetime]]:
    topics = {topic for pair in STAGES for topic in pair}
    query = (
        select(col(Event.subject_id), col(Event.topic), func.min(col(Event.occurred_at)))
        .where(col(Event.id) >= marks.first_event_id, col(Event.topic).in_(topics))
        .group_by(col(Event.subject_id), col(Event.topic))
    )
    found: dict[int, dict[str, datetime]] = defaultdict(dict)
    for subject, topic, at in session.execute(query).tuples():
        found[subject][topic] = at
    return found


def _spread(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0, "median_s": 0.0, "p95_s": 0.0, "max_s": 0.0}
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "median_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "max_s": round(ordered[-1], 3),
    }


def stage_times(session: Session, marks: Marks) -> dict[str, dict[str, float]]:
    """Median / p95 seconds each parcel spent between consecutive events of the path."""
    firsts = _first_times(session, marks)
    out = {}
    for start, end in STAGES:
        gaps = [
            (times[end] - times[start]).total_seconds()
            for times in firsts.values()
            if start in times and end in times
        ]
        out[f"{start.split('.')[-1]} → {end.split('.')[-1]}"] = _spread(gaps)
    return out


def auto_fix(session: Session, marks: Marks) -> dict[str, int]:
    """Cases customs rejected in the run, how many were corrected, and how many of those ended
    released (the automatic fix-and-resubmit path)."""

    def orders_with(topic: str) -> Any:
        return select(col(Event.subject_id)).where(
            col(Event.id) >= marks.first_event_id, col(Event.topic) == topic
        )

    def count(query: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    done = ("released", "shipped", "closed")
    released = select(col(ClearanceCase.order_id)).where(
        col(ClearanceCase.order_id).in_(orders_with("order.corrected")),
        col(ClearanceCase.state).in_(done),
    )
    return {
        "rejected": count(orders_with("clearance.rejected").distinct()),
        "corrected": count(orders_with("order.corrected").distinct()),
        "released_after_fix": count(released),
    }


TAX_FORMULA = (
    "tax = Σ lines (value + its share of freight and insurance) × (VAT + CT) / (1 − CT) × 70% "
    "(cbec-facts §5.1)"
)


def _goods_of_run(session: Session, marks: Marks) -> dict[int, list[tuple[OrderLine, Sku]]]:
    query = (
        select(OrderLine, Sku)
        .join(Sku, col(Sku.id) == col(OrderLine.sku_id))
        .where(col(OrderLine.order_id) >= marks.first_order_id)
        .order_by(col(OrderLine.order_id), col(OrderLine.gnum))
    )
    lines: dict[int, list[tuple[OrderLine, Sku]]] = defaultdict(list)
    for line, sku in session.execute(query).tuples():
        lines[line.order_id].append((line, sku))
    return lines


def formula_tax(order: Order, lines: list[tuple[OrderLine, Sku]]) -> rules.OrderTax:
    """An order's tax recomputed from what is stored, by the fact sheet's formula."""
    goods = [
        rules.Goods(line.total_price, sku.vat_rate, sku.consumption_tax_rate, sku.tariff_rate)
        for line, sku in lines
    ]
    charges = (order.freight, order.insured_fee, order.discount)
    return rules.order_tax_due(goods, [line.qty for line, _ in lines], charges)


def tax_check(session: Session, marks: Marks) -> dict[str, Any]:
    """Every order of the run against the formula: its tax charged within customs' 5% and its
    stored computation to the cent; the first few that are not, by order number."""
    goods = _goods_of_run(session, marks)
    orders = session.scalars(select(Order).where(col(Order.id) >= marks.first_order_id))
    checked, off = 0, []
    for order in orders:
        due = formula_tax(order, goods.get(order.id or 0, [])).total
        checked += 1
        if order.tax_computed != due or not rules.within(order.tax_total, due):
            off.append(order.order_no)
    return {"orders": checked, "match": checked - len(off), "off": off[:10], "formula": TAX_FORMULA}


def _phases(timings: Timings) -> dict[str, float]:
    m = timings.marks
    end = m.get("end", m["start"])
    return {
        "intake_s": round(m.get("intake_done", end) - m["start"], 2),
        "scan_s": round(m.get("scans_done", end) - m.get("intake_done", end), 2),
        "drain_s": round(end - m.get("scans_done", end), 2),
        "total_s": round(end - m["start"], 2),
    }


def _scan_latency(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)  # noqa: E731
    return {"scans": len(ordered), "p50_ms": pick(0.5), "p99_ms": pick(0.99)}


def build_report(
    plan: Plan, marks: Marks, timings: Timings, memory: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """Everything the run shows, as one JSON-able dict."""
    with session_scope() as session:
        cases = _counts(
            session, col(ClearanceCase.state), col(ClearanceCase.order_id) >= marks.first_order_id
        )
        floor = _counts(
            session, col(Parcel.floor_state), col(Parcel.order_id) >= marks.first_order_id
        )
        scans = _counts(session, col(Scan.outcome), col(Scan.id) >= marks.first_scan_id)
        stages = stage_times(session, marks)
        fixes = auto_fix(session, marks)
        taxes = tax_check(session, marks)
        database = database_settings(session)
    phases = _phases(timings)
    released = cases.get("released", 0) + cases.get("shipped", 0) + cases.get("closed", 0)
    stuck = open_work(marks)
    return {
        "plan": {k: v for k, v in asdict(plan).items() if k != "run"} | {"run": plan.run},
        "phases": phases,
        "parcels_per_s_end_to_end": round(released / phases["total_s"], 1)
        if phases["total_s"]
        else 0.0,
        "released": released,
        "stuck": stuck,
        "cases": cases,
        "floor": floor,
        "scans": scans,
        "scan_latency": _scan_latency(timings.scan_latencies),
        "labels_printed": timings.labels_printed,
        "gated": timings.gated,
        "auto_fix": fixes | {"resubmitted": timings.resubmitted},
        "tax": taxes,
        "stages": stages,
        "memory": memory,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "database": database,
    }


def database_settings(session: Session) -> dict[str, str]:
    """The database and the settings that change its figures over a long run."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        return {"dialect": dialect}
    # Without autovacuum dead rows pile up for the whole run (BENCHMARKS.md, 200,000 orders).
    autovacuum = session.execute(text("SHOW autovacuum")).scalar_one()
    return {"dialect": dialect, "autovacuum": str(autovacuum)}


def _table(title: str, rows: dict[str, Any], columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for name, values in rows.items():
        table.add_row(name, *(str(values.get(c, "")) for c in columns))
    return table


def _tax_line(tax: dict[str, Any]) -> str:
    off = f" (not: {', '.join(tax['off'])})" if tax["off"] else ""
    return f"tax matches the formula for {tax['match']} of {tax['orders']} orders{off}: " + str(
        tax["formula"]
    )


def render(report: dict[str, Any], console: Console) -> None:
    """The report as tables for a terminal."""
    phases = report["phases"]
    console.print(
        f"[bold]{report['released']} released[/] of {report['plan']['orders']} orders in "
        f"{phases['total_s']} s → [bold]{report['parcels_per_s_end_to_end']} parcels/s[/] end to "
        f"end; stuck {report['stuck']}; phases {phases}"
    )
    console.print(f"cases {report['cases']}  floor {report['floor']}")
    console.print(f"scans {report['scans']}  latency {report['scan_latency']}")
    console.print(f"labels printed {report['labels_printed']}, gated {report['gated']}")
    console.print(f"rejected by customs and fixed automatically {report['auto_fix']}")
    console.print(_tax_line(report["tax"]))
    console.print(_table("time per stage", report["stages"], ("n", "median_s", "p95_s", "max_s")))
    console.print(
        _table(
            "processes",
            report["memory"],
            ("peak_mb", "q1_mb", "q2_mb", "q3_mb", "last_mb", "cpu_s"),
        )
    )
