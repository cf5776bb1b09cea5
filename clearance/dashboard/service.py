"""The operations dashboard for admins and brokers: per warehouse, what is where, how fast it
moves, how long customs takes in each status, and how the queues are doing."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from clearance.broker.unmatched import open_count
from clearance.dashboard.overview import counts_by_warehouse
from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.taxbills import guarantee_balances
from declarations.fmt import china_time
from kit.auth import Principal, Role
from kit.outbox import Event, utcnow
from kit.queue import queue_depths
from warehouses.models import Order, Scan, Warehouse

WINDOW = timedelta(days=7)
HOURS = 24
EVENT_LIMIT = 200_000


def visible_codes(session: Session, principal: Principal) -> list[str]:
    """Admins see every warehouse; brokers the warehouses they declare for."""
    codes = list(session.scalars(sa_select(col(Warehouse.code)).order_by(col(Warehouse.code))))
    if principal.role == Role.admin:
        return codes
    return [code for code in codes if code in principal.warehouse_codes]


def snapshot(session: Session, principal: Principal) -> dict[str, Any]:
    """Everything the dashboard shows, for the warehouses the caller may see."""
    codes = visible_codes(session, principal)
    ids = _warehouse_ids(session, codes)
    now = utcnow()
    stays = time_in_status(session, ids, now - WINDOW)
    rates = customs_rates(session, ids, now - WINDOW)
    return {
        "generated_at": now.isoformat(),
        "warehouses": [
            {
                "code": row["code"],
                "name_zh": row["name_zh"],
                "counts": row["counts"],
                "total": row["total"],
                "per_hour": throughput(session, ids[row["code"]], now),
                "time_in_status": stays.get(ids[row["code"]], {}),
                "rates": rates.get(ids[row["code"]], {"cases": 0}),
            }
            for row in counts_by_warehouse(session)
            if row["code"] in codes
        ],
        "queues": queue_depths() if principal.role == Role.admin else {},
        "unmatched_receipts": open_count(session, principal),
        "guarantees": guarantee_balances(session),
    }


def _warehouse_ids(session: Session, codes: list[str]) -> dict[str, int]:
    query = sa_select(col(Warehouse.code), col(Warehouse.id)).where(col(Warehouse.code).in_(codes))
    return dict(session.execute(query).tuples().all())


def _hour_slots(now: datetime) -> list[datetime]:
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=n) for n in range(HOURS - 1, -1, -1)]


def throughput(session: Session, warehouse_id: int, now: datetime) -> list[dict[str, Any]]:
    """Parcels scanned in (matched) and released, per hour over the last day."""
    since = _hour_slots(now)[0]
    scans = session.scalars(
        sa_select(col(Scan.scanned_at)).where(
            col(Scan.warehouse_id) == warehouse_id,
            col(Scan.outcome) == "matched",
            col(Scan.scanned_at) >= since,
        )
    )
    released = session.scalars(
        sa_select(col(Event.occurred_at))
        .join(Order, col(Order.id) == col(Event.subject_id))
        .where(
            col(Event.topic) == "clearance.released",
            col(Event.subject_type) == "order",
            col(Order.warehouse_id) == warehouse_id,
            col(Event.occurred_at) >= since,
        )
    )
    return _bucket(now, list(scans), list(released))


def _bucket(now: datetime, scans: list[datetime], released: list[datetime]) -> list[dict[str, Any]]:
    slots = {slot: {"scanned": 0, "released": 0} for slot in _hour_slots(now)}
    for kind, moments in (("scanned", scans), ("released", released)):
        for moment in moments:
            slot = moment.replace(minute=0, second=0, microsecond=0)
            if slot in slots:
                slots[slot][kind] += 1
    return [
        {"hour": slot.isoformat(), "hour_beijing": f"{china_time(slot):%H}", **counts}
        for slot, counts in slots.items()
    ]


def _state_events(
    session: Session, warehouse_ids: list[int], since: datetime
) -> list[tuple[int, int, str, datetime]]:
    query = (
        sa_select(
            col(Order.warehouse_id), col(Event.subject_id), col(Event.topic), col(Event.occurred_at)
        )
        .join(Order, col(Order.id) == col(Event.subject_id))
        .where(
            col(Event.subject_type) == "order",
            col(Event.topic).like("clearance.%"),
            col(Event.topic) != "clearance.receipt",
            col(Event.occurred_at) >= since,
            col(Order.warehouse_id).in_(warehouse_ids),
        )
        .order_by(col(Event.subject_id), col(Event.id))
        .limit(EVENT_LIMIT)
    )
    return list(session.execute(query).tuples())


def time_in_status(
    session: Session, ids: dict[str, int], since: datetime
) -> dict[int, dict[str, dict[str, float]]]:
    """Seconds each case spent in each state it has left: median and p95 per warehouse."""
    stays: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    previous: tuple[int, str, datetime] | None = None
    for warehouse_id, order_id, topic, at in _state_events(session, list(ids.values()), since):
        if previous and previous[0] == order_id:
            stays[warehouse_id][previous[1]].append((at - previous[2]).total_seconds())
        previous = (order_id, topic.removeprefix("clearance."), at)
    return {wid: {s: _summary(v) for s, v in by_state.items()} for wid, by_state in stays.items()}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"count": len(ordered), "median_s": statistics.median(ordered), "p95_s": p95}


def customs_rates(
    session: Session, ids: dict[str, int], since: datetime
) -> dict[int, dict[str, float]]:
    """Share of recent cases customs rejected, and share it inspected."""
    cases = dict(
        session.execute(
            sa_select(col(ClearanceCase.warehouse_id), func.count())
            .where(col(ClearanceCase.created_at) >= since)
            .group_by(col(ClearanceCase.warehouse_id))
        )
        .tuples()
        .all()
    )
    rates: dict[int, dict[str, float]] = {}
    for warehouse_id in ids.values():
        total = cases.get(warehouse_id, 0)
        rates[warehouse_id] = {"cases": total}
        for name in ("rejected", "inspection"):
            hit = _cases_with(session, warehouse_id, f"clearance.{name}", since)
            rates[warehouse_id][f"{name}_rate"] = round(hit / total, 4) if total else 0.0
    return rates


def _cases_with(session: Session, warehouse_id: int, topic: str, since: datetime) -> int:
    query = (
        sa_select(func.count(func.distinct(col(Event.subject_id))))
        .join(ClearanceCase, col(ClearanceCase.order_id) == col(Event.subject_id))
        .where(
            col(Event.subject_type) == "order",
            col(Event.topic) == topic,
            col(ClearanceCase.warehouse_id) == warehouse_id,
            col(ClearanceCase.created_at) >= since,
        )
    )
    return int(session.scalar(query) or 0)
