"""Clearance cases: opening them, moving them through the state machine, recording each move."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.state import check_move
from kit import outbox
from kit.outbox import utcnow
from warehouses.models import Parcel


def cop_no_for(warehouse_code: str, order_id: int) -> str:
    """The enterprise inventory number (copNo, C..20) that customs echoes in every CEB622."""
    return f"CW{warehouse_code}{order_id:012d}"


def case_for_order(session: Session, order_id: int) -> ClearanceCase | None:
    return session.exec(select(ClearanceCase).where(ClearanceCase.order_id == order_id)).first()


def existing_cases(session: Session, order_ids: list[int]) -> dict[int, ClearanceCase]:
    """The cases already open for these orders, by order id (one query for a batch)."""
    query = select(ClearanceCase).where(col(ClearanceCase.order_id).in_(order_ids))
    return {case.order_id: case for case in session.exec(query)}


def open_case(
    session: Session, parcel: Parcel, warehouse_code: str, *, exists: bool | None = None
) -> ClearanceCase:
    """The case of a matched parcel, created on first sight (idempotent).

    `exists=False` says the caller already looked (see `existing_cases`) and found none.
    """
    existing = None if exists is False else case_for_order(session, parcel.order_id)
    if existing is not None:
        return existing
    assert parcel.id is not None
    case = ClearanceCase(
        order_id=parcel.order_id,
        parcel_id=parcel.id,
        warehouse_id=parcel.warehouse_id,
        state="matched",
        cop_no=cop_no_for(warehouse_code, parcel.order_id),
    )
    session.add(case)
    session.flush()
    return case


def move(
    session: Session,
    case: ClearanceCase,
    target: str,
    *,
    actor: str,
    source: str | None = None,
    payload: dict[str, Any] | None = None,
    by_customs: bool = False,
) -> None:
    """Move a case to `target`, mirror it on the parcel, and append the event."""
    if not by_customs:
        check_move(case.state, target)
    previous, case.state, case.state_since = case.state, target, utcnow()
    session.add(case)
    parcel = session.get(Parcel, case.parcel_id)
    if parcel is not None:
        parcel.customs_state = target
        session.add(parcel)
    body = {"from": previous, "to": target, **(payload or {})}
    outbox.record(
        session,
        f"clearance.{target}",
        ("order", case.order_id),
        actor=actor,
        source=source,
        payload=body,
    )
