"""rq jobs of the pipeline. Each carries ids, works in batches, and is safe to run twice."""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import select as sa_select
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col, select

from clearance.actions import request_cancel
from clearance.cases import existing_cases, move, open_case
from clearance.config import pipeline_settings
from clearance.declare import DeclarationInvalid, build_message, preload_for_orders
from clearance.exchange import gateway_for, receiving_gateways
from clearance.gateway.folder import FolderExchange
from clearance.gateway.port import IncomingFile, OutgoingMessage
from clearance.ingest import ReceiptFile, ingest_files
from clearance.models import ClearanceCase, CustomsMessage
from clearance.state import check_move
from declarations.model import InventoryLine
from declarations.receipts import parse_receipts
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.errors import Conflict, DomainError
from kit.outbox import Event, utcnow
from warehouses.models import Parcel, Warehouse

log = logging.getLogger(__name__)
ACTOR = "clearway"
INGEST = "clearance.jobs.ingest_receipts"
SEND = "clearance.jobs.send_pending"
DECLARE_PENDING = "clearance.jobs.declare_pending"
DECLARE_BATCH = 300
TAX_BILL = "receipt_is_tax_bill"


def _order_ids(session: Session, event_ids: list[int]) -> list[int]:
    query = sa_select(col(Event.subject_id)).where(col(Event.id).in_(event_ids))
    return sorted(set(session.scalars(query)))


def declare_pending() -> int:
    """Declare every matched parcel that has no case yet, a few hundred per transaction."""
    jobs.clear_once("declare", DECLARE_PENDING)
    total = 0
    while True:
        with session_scope() as session:
            order_ids = _undeclared_orders(session)
            total += _declare_orders(session, order_ids)
        if len(order_ids) < DECLARE_BATCH:
            return total


def _undeclared_orders(session: Session) -> list[int]:
    """Orders of matched parcels without a case, oldest first; others' claims are skipped."""
    query = (
        select(col(Parcel.order_id))
        .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
        .where(col(Parcel.floor_state) == "received", col(ClearanceCase.id).is_(None))
        .order_by(col(Parcel.id))
        .limit(DECLARE_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Parcel, skip_locked=True)
    return list(session.exec(query).all())


def declare_matched(event_ids: list[int]) -> int:
    """For `parcel.matched` events: open the case and build a validated CEB621 for each."""
    with session_scope() as session:
        return _declare_orders(session, _order_ids(session, event_ids))


def _declare_orders(session: Session, order_ids: list[int]) -> int:
    if not order_ids:
        return 0
    parcels = session.exec(
        select(Parcel, col(Warehouse.code))
        .join(Warehouse, col(Warehouse.id) == col(Parcel.warehouse_id))
        .where(col(Parcel.order_id).in_(order_ids))
    ).all()
    # One query per table for the whole batch, not one per parcel: the declare stage was the
    # 11.11 ceiling at ~15 statements a parcel (BENCHMARKS.md).
    lines = preload_for_orders(session, order_ids)
    cases = existing_cases(session, order_ids)
    return sum(_declare_one(session, p, code, cases, lines) for p, code in parcels)


def _declare_one(
    session: Session,
    parcel: Parcel,
    warehouse_code: str,
    cases: dict[int, ClearanceCase],
    lines: dict[int, tuple[InventoryLine, ...]],
) -> int:
    case = cases.get(parcel.order_id) or open_case(session, parcel, warehouse_code, exists=False)
    if case.state != "matched":
        return 0
    try:
        message = build_message(session, case, lines=lines.get(case.order_id))
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
    """For `clearance.declared` events: hand each case's pending messages to its gateway."""
    with session_scope() as session:
        return _send_for_orders(session, _order_ids(session, event_ids))


def send_pending(case_ids: list[int]) -> int:
    """Hand the pending messages of these cases to their gateways (sweeper, broker retries)."""
    with session_scope() as session:
        query = sa_select(col(ClearanceCase.order_id)).where(col(ClearanceCase.id).in_(case_ids))
        return _send_for_orders(session, list(session.scalars(query)))


def _send_for_orders(session: Session, order_ids: list[int]) -> int:
    gateways: dict[int, FolderExchange] = {}
    query = (
        select(CustomsMessage, ClearanceCase)
        .join(ClearanceCase, col(ClearanceCase.id) == col(CustomsMessage.case_id))
        .where(
            col(ClearanceCase.order_id).in_(order_ids),
            col(CustomsMessage.transport_state) == "pending",
        )
        .order_by(col(CustomsMessage.id))
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two workers never write the same message twice.
        query = query.with_for_update(of=CustomsMessage, skip_locked=True)
    rows = session.exec(query).all()
    return sum(_send(session, message, case, gateways) for message, case in rows)


def _send(
    session: Session,
    message: CustomsMessage,
    case: ClearanceCase,
    gateways: dict[int, FolderExchange],
) -> int:
    outgoing = OutgoingMessage(message.message_type, case.cop_no, message.xml.encode())
    if case.warehouse_id not in gateways:
        gateways[case.warehouse_id] = gateway_for(session, case.warehouse_id)
    try:
        message.file_name = gateways[case.warehouse_id].send(outgoing)
    except OSError as exc:
        message.transport_state, message.transport_error = "failed", str(exc)[:1000]
        session.add(message)
        _transport_event(session, case, message, "clearance.transport_failed")
        return 0
    message.transport_state, message.written_at = "written", utcnow()
    message.transport_error = None
    session.add(message)
    if message.message_type == "CEB621" and case.state == "declared":
        payload = {"guid": message.guid, "file": message.file_name, "app_type": message.app_type}
        source = f"file:{message.file_name}"
        move(session, case, "submitted", actor=ACTOR, source=source, payload=payload)
    else:
        _transport_event(session, case, message, "clearance.message_sent")
    return 1


def _transport_event(
    session: Session, case: ClearanceCase, message: CustomsMessage, topic: str
) -> None:
    outbox.record(
        session,
        topic,
        ("order", case.order_id),
        actor=ACTOR,
        source=f"message:{message.guid}",
        payload={
            "message_type": message.message_type,
            "guid": message.guid,
            "file": message.file_name,
            "error": message.transport_error,
        },
    )


def ingest_receipts() -> dict[str, int]:
    """Store and apply every receipt file waiting in every receive folder, a batch at a time."""
    jobs.clear_once("ingest", INGEST)
    limit = pipeline_settings().receipt_batch
    with session_scope() as session:
        exchanges = receiving_gateways(session)
    totals: Counter[str] = Counter()
    for exchange in exchanges:
        while ingest_batch(exchange, limit, totals) >= limit:
            pass
    return dict(totals)


def ingest_batch(exchange: FolderExchange, limit: int, totals: Counter[str]) -> int:
    """Claim up to `limit` files, store them in one transaction, then archive them."""
    claimed = list(exchange.claim_receipts(limit))
    readable: list[tuple[IncomingFile, ReceiptFile]] = []
    for incoming in claimed:
        try:
            parsed = parse_receipts(incoming.data)
        except DomainError as exc:
            if exc.code == TAX_BILL:
                # CEB816 is a tax bill, not a status: kept in the dated archive for the ledger.
                exchange.done_many([incoming])
                totals["tax_bill"] += 1
                continue
            log.warning("receipt %s refused: %s", incoming.name, exc)
            exchange.failed(incoming, f"{exc.code}: {exc.message}")
            totals["refused"] += 1
            continue
        raw = incoming.data.decode("utf-8", "replace")
        readable.append((incoming, ReceiptFile(incoming.name, raw, parsed)))
    if readable:
        _store(exchange, readable, totals)
    return len(claimed)


def _store(
    exchange: FolderExchange,
    readable: list[tuple[IncomingFile, ReceiptFile]],
    totals: Counter[str],
) -> None:
    try:
        with session_scope() as session:
            totals.update(ingest_files(session, [file for _, file in readable]))
    except (DataError, IntegrityError):
        if len(readable) == 1:
            raise
        # One file the database refuses must not hold back the others: store them one by one.
        for item in readable:
            _store_alone(exchange, item, totals)
        return
    exchange.done_many([incoming for incoming, _ in readable])


def _store_alone(
    exchange: FolderExchange, item: tuple[IncomingFile, ReceiptFile], totals: Counter[str]
) -> None:
    incoming, file = item
    try:
        with session_scope() as session:
            totals.update(ingest_files(session, [file]))
    except (DataError, IntegrityError) as exc:
        log.warning("receipt %s refused by the database: %s", incoming.name, exc)
        exchange.failed(incoming, f"database refused: {exc.orig}")
        totals["refused"] += 1
        return
    exchange.done(incoming)


def record_shipped(event_ids: list[int]) -> int:
    """For `parcel.shipped` events: the released case has left the bonded warehouse."""
    return _move_orders(event_ids, "shipped", source_prefix="event")


def cancel_orders(event_ids: list[int]) -> int:
    """For `order.cancelled` events: withdraw what customs has not seen, else ask for CEB623."""
    with session_scope() as session:
        order_ids = _order_ids(session, event_ids)
        cases = session.exec(
            select(ClearanceCase).where(col(ClearanceCase.order_id).in_(order_ids))
        )
        return sum(_cancel_one(session, case) for case in cases.all())


def _cancel_one(session: Session, case: ClearanceCase) -> int:
    if case.state in ("cancelled", "shipped", "closed", "returned"):
        return 0
    try:
        with session.begin_nested():
            request_cancel(session, case, actor=ACTOR, source="event:order.cancelled")
    except Conflict as exc:
        # Not cancellable yet (no invtNo before 120): the broker sees it in the exception view.
        outbox.record(
            session,
            "clearance.cancel_blocked",
            ("order", case.order_id),
            actor=ACTOR,
            payload={"code": exc.code, "message": exc.message, "state": case.state},
        )
        return 0
    return 1


def _move_orders(event_ids: list[int], target: str, *, source_prefix: str) -> int:
    with session_scope() as session:
        order_ids = _order_ids(session, event_ids)
        cases = session.exec(
            select(ClearanceCase).where(col(ClearanceCase.order_id).in_(order_ids))
        )
        moved = 0
        for case in cases.all():
            if case.state == target:
                continue
            try:
                check_move(case.state, target)
            except Conflict:
                log.warning("case %s is %s; %s ignored", case.cop_no, case.state, target)
                continue
            source = f"{source_prefix}:{target}"
            move(session, case, target, actor=ACTOR, source=source)
            moved += 1
        return moved
