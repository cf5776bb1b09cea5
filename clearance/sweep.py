"""The sweeper: the database is the source of truth, so whatever is overdue there is re-enqueued,
claims a killed worker left are put back, and cases that heard nothing for too long are flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlmodel import Session, col

from clearance.config import pipeline_settings
from clearance.exchange import gateway_for, receiving_gateways
from clearance.models import ClearanceCase, CustomsMessage
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.outbox import Event, utcnow
from kit.settings import get_settings
from warehouses.models import Parcel

LIMIT = 1000


def _ago(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


def sweep_clearance() -> int:
    """One sweep; returns how many items it re-enqueued, released, updated or flagged."""
    with session_scope() as session:
        released = release_claims(session)
        declare = _unmatched_parcels(session, _ago(get_settings().relay_grace_s))
        send = _pending_cases(session, _ago(get_settings().relay_grace_s))
        picked = _mark_picked_up(session)
        flagged = flag_stuck(session)
    if declare:
        jobs.enqueue("declare", "clearance.jobs.declare_matched", declare)
    if send:
        jobs.enqueue("submit", "clearance.jobs.send_pending", send)
    return released + len(declare) + len(send) + picked + flagged


def release_claims(session: Session, older_than_s: float | None = None) -> int:
    """Put receipt files back that a killed worker claimed and never finished."""
    age = pipeline_settings().claim_stale_s if older_than_s is None else older_than_s
    return sum(g.release_stale_claims(age) for g in receiving_gateways(session))


def _unmatched_parcels(session: Session, cutoff: datetime) -> list[int]:
    """`parcel.matched` event ids of matched parcels that have no declared case yet."""
    stuck = (
        select(col(Parcel.order_id))
        .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
        .where(
            col(Parcel.floor_state) == "received",
            col(Parcel.matched_at) < cutoff,
            col(ClearanceCase.id).is_(None) | (col(ClearanceCase.state) == "matched"),
        )
        .limit(LIMIT)
    )
    query = (
        select(col(Event.id))
        .where(col(Event.topic) == "parcel.matched", col(Event.subject_id).in_(stuck))
        .order_by(col(Event.id).desc())
        .limit(LIMIT)
    )
    return list(session.scalars(query))


def _pending_cases(session: Session, cutoff: datetime) -> list[int]:
    """Cases with a message still waiting for its gateway since before `cutoff`."""
    query = (
        select(col(CustomsMessage.case_id))
        .where(
            col(CustomsMessage.transport_state) == "pending",
            col(CustomsMessage.created_at) < cutoff,
        )
        .distinct()
        .limit(LIMIT)
    )
    return list(session.scalars(query))


def _mark_picked_up(session: Session) -> int:
    """Transport state: a written file the transfer client took from the send folder."""
    query = (
        select(CustomsMessage, col(ClearanceCase.warehouse_id))
        .join(ClearanceCase, col(ClearanceCase.id) == col(CustomsMessage.case_id))
        .where(col(CustomsMessage.transport_state) == "written")
        .limit(LIMIT)
    )
    taken = [
        message.id
        for message, warehouse_id in session.execute(query).tuples()
        if message.file_name and gateway_for(session, warehouse_id).picked_up(message.file_name)
    ]
    if taken:
        session.execute(
            update(CustomsMessage)
            .where(col(CustomsMessage.id).in_(taken))
            .values(transport_state="picked_up")
        )
    return len(taken)


def stuck_cases(session: Session) -> list[ClearanceCase]:
    """Cases waiting longer than their state's threshold (CLEARWAY_STUCK_AFTER)."""
    limits = pipeline_settings().stuck_after
    if not limits:
        return []
    overdue = [
        and_(col(ClearanceCase.state) == state, col(ClearanceCase.state_since) < _ago(seconds))
        for state, seconds in limits.items()
    ]
    query = select(ClearanceCase).where(or_(*overdue)).order_by(col(ClearanceCase.state_since))
    return list(session.scalars(query.limit(LIMIT)))


def flag_stuck(session: Session) -> int:
    """Record `clearance.stuck` once per case and state it got stuck in."""
    flagged = 0
    for case in stuck_cases(session):
        already = exists().where(
            col(Event.subject_type) == "order",
            col(Event.subject_id) == case.order_id,
            col(Event.topic) == "clearance.stuck",
            col(Event.occurred_at) >= case.state_since,
        )
        if session.scalar(select(already)):
            continue
        waited = int((utcnow() - _aware(case.state_since)).total_seconds())
        outbox.record(
            session,
            "clearance.stuck",
            ("order", case.order_id),
            actor="sweeper",
            payload={"state": case.state, "waited_s": waited, "last_status": case.last_status},
        )
        flagged += 1
    return flagged


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
