"""The sweeper: the database is the source of truth, so whatever is overdue there is re-enqueued,
claims a killed worker left are put back, and cases that heard nothing for too long are flagged."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlmodel import Session, col

from clearance.gateway.exchange import gateway_for, receiving_gateways
from clearance.gateway.folder import FolderExchange
from clearance.pipeline.config import pipeline_settings
from clearance.pipeline.jobs import DECLARE_PENDING, REDECLARE, SHIP_RELEASED, SUBMIT_PENDING
from clearance.pipeline.models import ClearanceCase, CustomsMessage
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
    cutoff = _ago(get_settings().relay_grace_s)
    with session_scope() as session:
        released = release_claims(session)
        undeclared = _undeclared_parcels(session, cutoff)
        redeclare = redeclare_due(session, cutoff)
        resend = resend_due(session)
        send = resend > 0 or _pending_messages(session, cutoff)
        ship = _gated_waiting(session, cutoff)
        picked = _mark_picked_up(session)
        flagged = flag_stuck(session)
    # Draining jobs: at most one waits, so a backlog never turns into a pile of duplicates.
    for queue, job, due in (
        ("declare", DECLARE_PENDING, undeclared),
        ("submit", SUBMIT_PENDING, send),
        ("ship", SHIP_RELEASED, ship),
    ):
        if due:
            jobs.enqueue_once(queue, job)
    if redeclare:
        jobs.enqueue("declare", REDECLARE, redeclare)
    moved = released + resend + picked + flagged
    return moved + int(undeclared) + len(redeclare) + int(send) + int(ship)


def release_claims(session: Session, dead_after_s: float | None = None) -> int:
    """Put receipt files back whose claimer's heartbeat stopped (a killed or frozen worker)."""
    age = pipeline_settings().claim_dead_after_s if dead_after_s is None else dead_after_s
    return sum(g.release_dead_claims(age) for g in receiving_gateways(session))


def _any(session: Session, query: Any) -> bool:
    return session.scalar(select(query.exists())) or False


def _undeclared_parcels(session: Session, cutoff: datetime) -> bool:
    """Whether a parcel matched before `cutoff` still has no case (its declare job was lost)."""
    query = (
        select(col(Parcel.id))
        .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
        .where(
            col(Parcel.floor_state) == "received",
            col(Parcel.customs_state) == "none",  # served by ix_parcels_to_declare
            col(Parcel.matched_at) < cutoff,
            col(ClearanceCase.id).is_(None),
        )
    )
    return _any(session, query)


def redeclare_due(session: Session, cutoff: datetime) -> list[int]:
    """Orders of cases an invalid build left matched whose back-off is over (or whose order was
    corrected since): they are not rebuilt on every sweep, only when it may help."""
    query = (
        select(col(ClearanceCase.order_id))
        .where(col(ClearanceCase.state) == "matched", col(ClearanceCase.state_since) < cutoff)
        .order_by(col(ClearanceCase.id))
        .limit(LIMIT)
    )
    order_ids = list(session.scalars(query))
    if not order_ids:
        return []
    history = _declare_history(session, order_ids)
    settings, now = pipeline_settings(), utcnow()
    backoff = (settings.redeclare_backoff_s, settings.redeclare_backoff_max_s)
    return [o for o in order_ids if may_redeclare(history.get(o, _NEVER), now, *backoff)]


@dataclass(frozen=True)
class DeclareHistory:
    """How often an order's declaration broke the XSD, when last, and when it was corrected."""

    failures: int = 0
    last_failure: datetime | None = None
    corrected: datetime | None = None


_NEVER = DeclareHistory()
INVALID, CORRECTED = "clearance.declaration_invalid", "order.corrected"


def _declare_history(session: Session, order_ids: list[int]) -> dict[int, DeclareHistory]:
    query = (
        select(col(Event.subject_id), col(Event.topic), func.count(), func.max(Event.occurred_at))
        .where(
            col(Event.subject_type) == "order",
            col(Event.subject_id).in_(order_ids),
            col(Event.topic).in_((INVALID, CORRECTED)),
        )
        .group_by(col(Event.subject_id), col(Event.topic))
    )
    found: dict[int, DeclareHistory] = {}
    for order_id, topic, count, last in session.execute(query).tuples():
        old = found.get(order_id, _NEVER)
        if topic == INVALID:
            found[order_id] = replace(old, failures=count, last_failure=_aware(last))
        else:
            found[order_id] = replace(old, corrected=_aware(last))
    return found


def may_redeclare(history: DeclareHistory, now: datetime, base_s: float, max_s: float) -> bool:
    """Pure rule: never failed → yes (its job was lost); corrected after the last failure →
    yes; otherwise only once base_s · 2^(failures − 1), at most max_s, has passed."""
    if history.last_failure is None:
        return True
    if history.corrected is not None and history.corrected > history.last_failure:
        return True
    wait = min(max_s, base_s * 2 ** min(history.failures - 1, 30))
    return (now - history.last_failure).total_seconds() >= wait


def _gated_waiting(session: Session, cutoff: datetime) -> bool:
    """Whether a released case waits to be shipped though its parcel left before `cutoff`."""
    query = (
        select(col(ClearanceCase.id))
        .join(Parcel, col(Parcel.id) == col(ClearanceCase.parcel_id))
        .where(
            col(ClearanceCase.state) == "released",
            col(Parcel.floor_state) == "shipped",
            col(Parcel.gate_out_at) < cutoff,
        )
    )
    return _any(session, query)


def resend_due(session: Session) -> int:
    """Messages that waited for the disk and whose next attempt is due go back to pending."""
    result = session.execute(
        update(CustomsMessage)
        .where(
            col(CustomsMessage.transport_state) == "waiting",
            col(CustomsMessage.next_attempt_at) <= utcnow(),
        )
        .values(transport_state="pending")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _pending_messages(session: Session, cutoff: datetime) -> bool:
    """Whether a message has waited for its gateway since before `cutoff`."""
    query = select(col(CustomsMessage.id)).where(
        col(CustomsMessage.transport_state) == "pending",
        col(CustomsMessage.created_at) < cutoff,
    )
    return _any(session, query)


def _mark_picked_up(session: Session) -> int:
    """Transport state: a written file the transfer client took from the send folder."""
    query = (
        select(
            col(CustomsMessage.id), col(CustomsMessage.file_name), col(ClearanceCase.warehouse_id)
        )
        .join(ClearanceCase, col(ClearanceCase.id) == col(CustomsMessage.case_id))
        .where(col(CustomsMessage.transport_state) == "written")
        .limit(LIMIT)
    )
    gateways: dict[int, FolderExchange] = {}
    taken = []
    for message_id, file_name, warehouse_id in session.execute(query).tuples():
        if warehouse_id not in gateways:
            gateways[warehouse_id] = gateway_for(session, warehouse_id)
        if file_name and gateways[warehouse_id].picked_up(file_name):
            taken.append(message_id)
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
