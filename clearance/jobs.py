"""rq jobs of the pipeline. Each carries ids, works in batches, and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from clearance.cases import move, open_case
from clearance.declare import DeclarationInvalid, build_message
from clearance.exchange import gateway
from clearance.gateway.port import OutgoingMessage
from clearance.ingest import ingest
from clearance.models import ClearanceCase, CustomsMessage
from declarations.receipts import parse_receipts
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.errors import DomainError
from kit.outbox import Event, utcnow
from kit.settings import get_settings
from warehouses.models import Parcel, Warehouse

log = logging.getLogger(__name__)
ACTOR = "clearway"
INGEST = "clearance.jobs.ingest_receipts"
RECEIPT_BATCH = 500


def _order_ids(session: Session, event_ids: list[int]) -> list[int]:
    query = sa_select(col(Event.subject_id)).where(col(Event.id).in_(event_ids))
    return sorted(set(session.scalars(query)))


def declare_matched(event_ids: list[int]) -> int:
    """For `parcel.matched` events: open the case and build a validated CEB621 for each."""
    with session_scope() as session:
        parcels = session.exec(
            select(Parcel, col(Warehouse.code))
            .join(Warehouse, col(Warehouse.id) == col(Parcel.warehouse_id))
            .where(col(Parcel.order_id).in_(_order_ids(session, event_ids)))
        )
        return sum(_declare_one(session, parcel, code) for parcel, code in parcels.all())


def _declare_one(session: Session, parcel: Parcel, warehouse_code: str) -> int:
    case = open_case(session, parcel, warehouse_code)
    if case.state != "matched":
        return 0
    try:
        with session.begin_nested():
            message = build_message(session, case)
    except DeclarationInvalid as exc:
        outbox.record(
            session,
            "clearance.declaration_invalid",
            ("order", case.order_id),
            actor=ACTOR,
            payload={"message": exc.message, **exc.details},
        )
        return 0
    move(
        session,
        case,
        "declared",
        actor=ACTOR,
        source=f"message:{message.guid}",
        payload={"message_type": "CEB621", "guid": message.guid},
    )
    return 1


def submit_declared(event_ids: list[int]) -> int:
    """For `clearance.declared` events: hand each pending message to the gateway."""
    with session_scope() as session:
        query = select(ClearanceCase).where(
            col(ClearanceCase.order_id).in_(_order_ids(session, event_ids)),
            ClearanceCase.state == "declared",
        )
        return sum(_submit_case(session, case) for case in session.exec(query).all())


def _pending_message(session: Session, case_id: int) -> CustomsMessage | None:
    query = select(CustomsMessage).where(
        CustomsMessage.case_id == case_id, CustomsMessage.transport_state == "pending"
    )
    return session.exec(query.order_by(col(CustomsMessage.id).desc())).first()


def _submit_case(session: Session, case: ClearanceCase) -> int:
    assert case.id is not None
    message = _pending_message(session, case.id)
    if message is None:
        return 0
    outgoing = OutgoingMessage(message.message_type, case.cop_no, message.xml.encode())
    try:
        message.file_name = gateway().send(outgoing)
    except OSError as exc:
        message.transport_state, message.transport_error = "failed", str(exc)[:1000]
        session.add(message)
        return 0
    message.transport_state, message.written_at = "written", utcnow()
    session.add(message)
    move(
        session,
        case,
        "submitted",
        actor=ACTOR,
        source=f"file:{message.file_name}",
        payload={"guid": message.guid, "file": message.file_name},
    )
    return 1


def ingest_receipts() -> dict[str, int]:
    """Read every receipt file waiting, store and apply each file in its own transaction."""
    jobs.clear_once("ingest", INGEST)
    exchange = gateway()
    totals: dict[str, int] = {}
    for incoming in exchange.claim_receipts(RECEIPT_BATCH):
        try:
            receipts = parse_receipts(incoming.data)
        except DomainError as exc:
            log.warning("receipt %s refused: %s", incoming.name, exc)
            exchange.failed(incoming, str(exc))
            totals["refused"] = totals.get("refused", 0) + 1
            continue
        with session_scope() as session:
            counts = ingest(
                session,
                receipts,
                file_name=incoming.name,
                raw=incoming.data.decode("utf-8", "replace"),
            )
        exchange.done(incoming)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def sweep_clearance() -> int:
    """Re-enqueue overdue pipeline work from the database; the database is the source of truth."""
    gateway().release_stale_claims()
    cutoff = utcnow() - timedelta(seconds=get_settings().relay_grace_s)
    with session_scope() as session:
        matched = _overdue_ids(session, "parcel.matched", "matched", cutoff)
        declared = _overdue_ids(session, "clearance.declared", "declared", cutoff)
    if matched:
        jobs.enqueue("declare", "clearance.jobs.declare_matched", matched)
    if declared:
        jobs.enqueue("submit", "clearance.jobs.submit_declared", declared)
    return len(matched) + len(declared)


def _overdue_ids(session: Session, topic: str, state: str, cutoff: datetime) -> list[int]:
    """Latest event ids of cases (or matched parcels) stuck in `state` since before `cutoff`."""
    if state == "matched":
        stuck = (
            sa_select(col(Parcel.order_id))
            .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
            .where(
                col(Parcel.floor_state) == "received",
                col(Parcel.matched_at) < cutoff,
                col(ClearanceCase.id).is_(None) | (col(ClearanceCase.state) == "matched"),
            )
        )
    else:
        stuck = sa_select(col(ClearanceCase.order_id)).where(
            col(ClearanceCase.state) == state, col(ClearanceCase.state_since) < cutoff
        )
    query = (
        sa_select(col(Event.id))
        .where(col(Event.topic) == topic, col(Event.subject_id).in_(stuck.limit(1000)))
        .order_by(col(Event.id).desc())
        .limit(1000)
    )
    return list(session.scalars(query))
