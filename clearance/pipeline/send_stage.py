"""The submit stage in bulk: pending messages are written to their gateways' send folders and
the batch's messages, cases, parcels and events are written with one statement per table."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from clearance.gateway.exchange import gateway_for
from clearance.gateway.folder import FolderExchange, PartlySent, is_transient
from clearance.gateway.port import OutgoingMessage
from clearance.pipeline.config import pipeline_settings
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from clearance.pipeline.rows import lock_in_id_order, table_of, update_by_id
from kit import outbox
from kit.outbox import utcnow
from warehouses.models import Parcel

ACTOR = "clearway"
BATCH = 300


@dataclass
class _Sent:
    """One message as the batch sees it, and what became of it."""

    row: Any
    file_name: str | None = None
    error: str | None = None
    transient: bool = False  # the disk may take it later: it waits, it has not failed


def _claim(session: Session, where: list[Any], limit: int | None) -> list[_Sent]:
    """Pending messages (with their case's keys), oldest first; others' claims are skipped."""
    message, case = table_of(CustomsMessage), table_of(ClearanceCase)
    query = (
        select(message.c.id, message.c.message_type, message.c.guid, message.c.app_type)
        .add_columns(
            message.c.attempts,
            message.c.xml,
            case.c.id.label("case_id"),
            case.c.order_id,
            case.c.state,
        )
        .add_columns(case.c.cop_no, case.c.warehouse_id, case.c.parcel_id)
        .join(case, case.c.id == message.c.case_id)
        .where(message.c.transport_state == "pending", *where)
        .order_by(message.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two workers never write the same message twice.
        query = query.with_for_update(of=message, skip_locked=True)
    return [_Sent(row) for row in session.execute(query)]


def send_pending_batch(session: Session, limit: int = BATCH) -> int:
    """Send the oldest pending messages of any case; returns how many were claimed."""
    claimed = _claim(session, [], limit)
    _send_all(session, claimed)
    return len(claimed)


def send_for_orders(session: Session, order_ids: list[int]) -> int:
    """Send the pending messages of these orders' cases; returns how many were written."""
    if not order_ids:
        return 0
    claimed = _claim(session, [col(ClearanceCase.order_id).in_(order_ids)], None)
    return _send_all(session, claimed)


def _send_all(session: Session, claimed: list[_Sent]) -> int:
    by_warehouse: dict[int, list[_Sent]] = {}
    for item in claimed:
        by_warehouse.setdefault(item.row.warehouse_id, []).append(item)
    for warehouse_id, items in by_warehouse.items():
        _write_files(gateway_for(session, warehouse_id), items)
    written = [item for item in claimed if item.error is None]
    _record(session, written, [item for item in claimed if item.error is not None])
    return len(written)


def _outgoing(item: _Sent) -> OutgoingMessage:
    return OutgoingMessage(item.row.message_type, item.row.cop_no, item.row.xml.encode())


def _write_files(gateway: FolderExchange, items: list[_Sent]) -> None:
    """One disk wait per batch. A refused batch is halved until a write succeeds, then grows
    back, so a nearly full disk takes what fits; a message refused alone fails if the error is
    permanent, and leaves itself and the rest waiting if it is passing (the disk is full)."""
    size, start = len(items), 0
    while start < len(items):
        chunk = items[start : start + size]
        sent, exc = _write_chunk(gateway, chunk)
        start += sent
        if exc is None:
            size = min(len(items), size * 2)
        elif sent or len(chunk) > 1:
            size = max(1, len(chunk) // 2)
        elif is_transient(exc):
            _refused(items[start:], exc)
            return
        else:
            _refused(chunk, exc)
            start += 1


def _write_chunk(gateway: FolderExchange, chunk: list[_Sent]) -> tuple[int, OSError | None]:
    """How many of `chunk` reached the send folder (in order), and the error that stopped it."""
    error: OSError | None = None
    try:
        names = gateway.send_many([_outgoing(item) for item in chunk])
    except PartlySent as exc:
        names, error = exc.sent, exc
    except OSError as exc:
        return 0, exc
    for item, name in zip(chunk, names, strict=False):
        item.file_name = name
    return len(names), error


def _refused(items: list[_Sent], exc: OSError) -> None:
    reason = _reason(exc)
    for item in items:
        item.error, item.transient = reason, is_transient(exc)


def _reason(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, "OSError")
    return f"{code}: {exc.strerror or exc} ({exc.filename or 'send folder'})"[:1000]


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Pure rule: base_s after the first refusal, doubling per attempt, at most max_s."""
    return min(max_s, base_s * 2 ** min(attempts - 1, 30))


def _record(session: Session, written: list[_Sent], refused: list[_Sent]) -> None:
    now = utcnow()
    rows = [_state(item, "written", now) for item in written]
    rows += [_state(item, "failed") for item in refused if not item.transient]
    rows += [_waiting(item, now) for item in refused if item.transient]
    update_by_id(session, table_of(CustomsMessage), rows)
    submitted = _submit_cases(session, [i for i in written if i.row.message_type == "CEB621"])
    events = [
        _event(i, "clearance.submitted" if i.row.case_id in submitted else "clearance.message_sent")
        for i in written
    ]
    events += [_event(item, "clearance.transport_failed") for item in refused if not item.transient]
    # Once per spell of waiting, not per attempt: a day-long full disk is one event a message.
    events += [
        _event(item, "clearance.transport_waiting")
        for item in refused
        if item.transient and not item.row.attempts
    ]
    outbox.record_many(session, events)


def _state(item: _Sent, state: str, now: Any = None) -> dict[str, Any]:
    return {
        "id": item.row.id,
        "transport_state": state,
        "transport_error": item.error,
        "file_name": item.file_name,
        "written_at": now,
        "attempts": 0 if state == "written" else item.row.attempts,
        "next_attempt_at": None,
    }


def _waiting(item: _Sent, now: datetime) -> dict[str, Any]:
    settings, attempts = pipeline_settings(), item.row.attempts + 1
    delay = retry_delay(attempts, settings.send_retry_s, settings.send_retry_max_s)
    waiting = _state(item, "waiting")
    return waiting | {"attempts": attempts, "next_attempt_at": now + timedelta(seconds=delay)}


def _submit_cases(session: Session, items: list[_Sent]) -> set[int]:
    """Move declared cases to submitted; the ids of those that moved."""
    if not items:
        return set()
    case = table_of(ClearanceCase)
    lock_in_id_order(session, case, [i.row.case_id for i in items])
    result = session.execute(
        update(case)
        .where(case.c.id.in_([i.row.case_id for i in items]), case.c.state == "declared")
        .values(state="submitted", state_since=utcnow())
        .returning(case.c.id, case.c.parcel_id)
    )
    moved = dict(result.tuples().all())
    if moved:
        parcel = table_of(Parcel)
        session.execute(
            update(parcel)
            .where(parcel.c.id.in_(list(moved.values())))
            .values(customs_state="submitted")
        )
    return set(moved)


def _event(item: _Sent, topic: str) -> dict[str, Any]:
    row = item.row
    base = {"topic": topic, "subject_type": "order", "subject_id": row.order_id, "actor": ACTOR}
    if topic == "clearance.submitted":
        payload = {"from": "declared", "to": "submitted", "guid": row.guid}
        payload |= {"file": item.file_name, "app_type": row.app_type}
        return {**base, "source": f"file:{item.file_name}", "payload": payload}
    payload = {"message_type": row.message_type, "guid": row.guid, "file": item.file_name}
    payload["error"] = item.error
    return {**base, "source": f"message:{row.guid}", "payload": payload}
