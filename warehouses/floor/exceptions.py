"""The exception queue: unknown and mismatched parcels wait here until someone acts on them.

Actions: attach to an order of this warehouse (the parcel is then taken in as matched), mark for
return to sender, or dispose. Each action is an audited event on the exception's timeline.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from kit import outbox
from kit.auth import Principal
from kit.errors import Conflict, NotFound, ValidationFailed
from kit.outbox import utcnow
from warehouses.floor import repo
from warehouses.models import FloorException, Order, Parcel, Scan, Warehouse
from warehouses.schemas import ExceptionAction, ExceptionOut

FINAL_STATE = {"attach": "attached", "return": "returning", "dispose": "disposed"}


def list_exceptions(
    session: Session, warehouse: str, principal: Principal, state: str = "open", limit: int = 200
) -> list[ExceptionOut]:
    """A warehouse's exceptions in one state, oldest first (the order staff should work them)."""
    principal.require_warehouse(warehouse)
    query = (
        select(FloorException, Scan, col(Order.order_no))
        .join(Warehouse, col(Warehouse.id) == col(FloorException.warehouse_id))
        .join(Scan, col(Scan.id) == col(FloorException.scan_id))
        .outerjoin(Parcel, col(Parcel.id) == col(FloorException.parcel_id))
        .outerjoin(Order, col(Order.id) == col(Parcel.order_id))
        .where(col(Warehouse.code) == warehouse, col(FloorException.state) == state)
        .order_by(col(FloorException.id))
        .limit(limit)
    )
    return [_out(exc, scan, order_no) for exc, scan, order_no in session.execute(query).tuples()]


def _out(exc: FloorException, scan: Scan, order_no: str | None) -> ExceptionOut:
    return ExceptionOut(
        id=exc.id or 0,
        code=exc.code,
        reason=exc.reason,
        state=exc.state,
        parcel_id=exc.parcel_id,
        order_no=order_no,
        note=exc.note,
        created_at=exc.created_at,
        resolved_at=exc.resolved_at,
        resolved_by=exc.resolved_by,
        scanned_by=scan.actor,
        station=scan.station,
    )


def _load(session: Session, exception_id: int, principal: Principal) -> FloorException:
    exc = session.get(FloorException, exception_id)
    warehouse = session.get(Warehouse, exc.warehouse_id) if exc else None
    # Another warehouse's exception is answered as a missing one: no existence oracle.
    if exc is None or warehouse is None or not principal.can_act_at(warehouse.code):
        raise NotFound("exception_not_found", f"no exception {exception_id}", "exception_id")
    if exc.state != "open":
        raise Conflict("exception_closed", f"exception {exception_id} is already {exc.state}")
    return exc


def _target_parcel(session: Session, exc: FloorException, order_no: str | None) -> Parcel:
    """The parcel of this warehouse to take in: the named order's, or the exception's own."""
    if order_no is None:
        parcel = session.get(Parcel, exc.parcel_id) if exc.parcel_id else None
    else:
        query = (
            select(Parcel)
            .join(Order, col(Order.id) == col(Parcel.order_id))
            .where(col(Order.order_no) == order_no, col(Parcel.warehouse_id) == exc.warehouse_id)
        )
        parcel = session.execute(query).scalars().first()
    if parcel is None or parcel.warehouse_id != exc.warehouse_id:
        raise ValidationFailed.one(
            "order_no", "no_order_here", "name an order of this warehouse to attach the parcel to"
        )
    return parcel


def _attach(session: Session, exc: FloorException, action: ExceptionAction, actor: str) -> str:
    parcel = _target_parcel(session, exc, action.order_no)
    assert parcel.id is not None
    order = session.get(Order, parcel.order_id)
    if order is None or order.status == "cancelled":
        raise Conflict("order_cancelled", "a cancelled order cannot take a parcel", "order_no")
    if parcel.floor_state not in repo.RECEIVABLE:
        raise Conflict("already_received", f"the parcel of {order.order_no} is already in")
    repo.claim_received(session, parcel.id, parcel.weight_kg or parcel.expected_weight_kg)
    repo.resolve_open_exceptions(session, parcel.id, "attached", actor)
    exc.attached_order_id = order.id
    outbox.record(
        session,
        "parcel.matched",
        ("order", parcel.order_id),
        actor=actor,
        source=f"exception:{exc.id}",
        payload={"parcel_id": parcel.id, "code": exc.code, "exception_id": exc.id},
    )
    return order.order_no


def act(
    session: Session, exception_id: int, action: ExceptionAction, principal: Principal
) -> ExceptionOut:
    """Resolve an open exception; attaching takes the parcel in and starts its clearance."""
    exc = _load(session, exception_id, principal)
    order_no = None
    if action.action == "attach":
        order_no = _attach(session, exc, action, principal.actor)
    elif exc.parcel_id is not None and _is_home(session, exc):
        repo.set_floor_state(session, exc.parcel_id, FINAL_STATE[action.action])
    exc.state = FINAL_STATE[action.action]
    exc.note, exc.resolved_at, exc.resolved_by = action.note, utcnow(), principal.actor
    session.add(exc)
    assert exc.id is not None
    outbox.record(
        session,
        f"floor.exception_{exc.state}",
        ("floor_exception", exc.id),
        actor=principal.actor,
        payload={"code": exc.code, "reason": exc.reason, "note": action.note or ""},
    )
    session.flush()
    scan = session.get(Scan, exc.scan_id)
    assert scan is not None
    return _out(exc, scan, order_no)


def _is_home(session: Session, exc: FloorException) -> bool:
    parcel = session.get(Parcel, exc.parcel_id)
    return parcel is not None and parcel.warehouse_id == exc.warehouse_id
