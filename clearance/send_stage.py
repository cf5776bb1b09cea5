"""The submit stage in bulk: pending messages are written to their gateways' send folders and
the batch's messages, cases, parcels and events are written with one statement per table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from clearance.exchange import gateway_for
from clearance.gateway.folder import FolderExchange
from clearance.gateway.port import OutgoingMessage
from clearance.models import ClearanceCase, CustomsMessage
from clearance.rows import lock_in_id_order, table_of, update_by_id
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


def _claim(session: Session, where: list[Any], limit: int | None) -> list[_Sent]:
    """Pending messages (with their case's keys), oldest first; others' claims are skipped."""
    message, case = table_of(CustomsMessage), table_of(ClearanceCase)
    query = (
        select(message.c.id, message.c.message_type, message.c.guid, message.c.app_type)
        .add_columns(message.c.xml, case.c.id.label("case_id"), case.c.order_id, case.c.state)
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
    failed = [item for item in claimed if item.error is not None]
    _record(session, written, failed)
    return len(written)


def _outgoing(item: _Sent) -> OutgoingMessage:
    return OutgoingMessage(item.row.message_type, item.row.cop_no, item.row.xml.encode())


def _write_files(gateway: FolderExchange, items: list[_Sent]) -> None:
    """One disk wait for the batch; when it fails, each file alone, so only the bad ones fail."""
    try:
        names = gateway.send_many([_outgoing(item) for item in items])
    except OSError:
        for item in items:
            try:
                item.file_name = gateway.send(_outgoing(item))
            except OSError as exc:
                item.error = str(exc)[:1000]
        return
    for item, name in zip(items, names, strict=True):
        item.file_name = name


def _record(session: Session, written: list[_Sent], failed: list[_Sent]) -> None:
    now = utcnow()
    rows = [_state(item, "written", now) for item in written]
    update_by_id(session, table_of(CustomsMessage), rows + [_state(i, "failed") for i in failed])
    submitted = _submit_cases(session, [i for i in written if i.row.message_type == "CEB621"])
    events = [
        _event(i, "clearance.submitted" if i.row.case_id in submitted else "clearance.message_sent")
        for i in written
    ]
    events += [_event(item, "clearance.transport_failed") for item in failed]
    outbox.record_many(session, events)


def _state(item: _Sent, state: str, now: Any = None) -> dict[str, Any]:
    return {
        "id": item.row.id,
        "transport_state": state,
        "transport_error": item.error,
        "file_name": item.file_name,
        "written_at": now,
    }


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
