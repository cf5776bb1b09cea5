"""Gate-out in bulk: released cases whose parcels left the bonded warehouse become shipped, with
one statement per table for the batch."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.rows import lock_in_id_order, table_of
from kit import outbox
from kit.outbox import utcnow
from warehouses.models import Parcel

ACTOR = "clearway"


def gated_released(session: Session, limit: int) -> list[int]:
    """Ids of released cases whose parcel was scanned out; others' claims are skipped."""
    case, parcel = table_of(ClearanceCase), table_of(Parcel)
    query = (
        select(case.c.id)
        .join(parcel, parcel.c.id == case.c.parcel_id)
        .where(case.c.state == "released", parcel.c.floor_state == "shipped")
        .order_by(case.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=case, skip_locked=True)
    return list(session.scalars(query))


def ship_cases(session: Session, case_ids: list[int]) -> int:
    """Move these cases from released to shipped (any other state is left alone)."""
    if not case_ids:
        return 0
    case, parcel = table_of(ClearanceCase), table_of(Parcel)
    lock_in_id_order(session, case, case_ids)
    result = session.execute(
        update(case)
        .where(case.c.id.in_(sorted(case_ids)), case.c.state == "released")
        .values(state="shipped", state_since=utcnow())
        .returning(case.c.order_id, case.c.parcel_id)
    )
    moved = result.tuples().all()
    if not moved:
        return 0
    parcel_ids = [parcel_id for _, parcel_id in moved]
    session.execute(
        update(parcel).where(parcel.c.id.in_(parcel_ids)).values(customs_state="shipped")
    )
    events = [_event(order_id) for order_id, _ in moved]
    return outbox.record_many(session, events)


def _event(order_id: int) -> dict[str, object]:
    return {
        "topic": "clearance.shipped",
        "subject_type": "order",
        "subject_id": order_id,
        "actor": ACTOR,
        "source": "event:shipped",
        "payload": {"from": "released", "to": "shipped"},
    }
