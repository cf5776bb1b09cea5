"""Aggregate counts for the overview page: parcels per warehouse and clearance state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case as sa_case
from sqlalchemy import func, select
from sqlmodel import Session, col

from clearance.pipeline.models import ClearanceCase
from warehouses.models import Parcel, Warehouse

STATES = (
    "received",
    "matched",
    "declared",
    "submitted",
    "declared_to_eport",
    "accepted",
    "cleared",
    "released",
    "rejected",
    "held",
)


def counts_by_warehouse(session: Session) -> list[dict[str, Any]]:
    state = func.coalesce(
        col(ClearanceCase.state),
        sa_case((col(Parcel.floor_state) == "received", "matched"), else_="received"),
    )
    query = (
        select(col(Parcel.warehouse_id), state, func.count())
        .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
        .group_by(col(Parcel.warehouse_id), state)
    )
    counts: dict[int, dict[str, int]] = {}
    for warehouse_id, name, count in session.execute(query):
        counts.setdefault(warehouse_id, {})[name] = count
    rows = []
    for warehouse in session.scalars(select(Warehouse).order_by(col(Warehouse.code))):
        mine = counts.get(warehouse.id or 0, {})
        rows.append(
            {
                "code": warehouse.code,
                "name_zh": warehouse.name_zh,
                "counts": mine,
                "total": sum(mine.values()),
            }
        )
    return rows
