"""rq jobs of the pipeline. Each carries ids, works in batches, and is safe to run twice."""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import select as sa_select
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col, select

from clearance.broker.actions import request_cancel
from clearance.gateway.exchange import receiving_gateways
from clearance.gateway.folder import FolderExchange
from clearance.gateway.port import IncomingFile
from clearance.pipeline.cases import move
from clearance.pipeline.config import pipeline_settings
from clearance.pipeline.declare_stage import declare_orders
from clearance.pipeline.draining import drain
from clearance.pipeline.ingest import ReceiptFile, ingest_files
from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.send_stage import BATCH as SEND_BATCH
from clearance.pipeline.send_stage import send_for_orders, send_pending_batch
from clearance.pipeline.ship_stage import gated_released, ship_cases
from clearance.pipeline.state import check_move
from clearance.pipeline.taxbills import store_file as store_tax_bills
from declarations.receipts import parse_receipts
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.errors import Conflict, DomainError
from kit.outbox import Event
from warehouses.models import Parcel

log = logging.getLogger(__name__)
ACTOR = "clearway"
INGEST = "clearance.pipeline.jobs.ingest_receipts"
SEND = "clearance.pipeline.jobs.send_pending"
DECLARE_PENDING = "clearance.pipeline.jobs.declare_pending"
SUBMIT_PENDING = "clearance.pipeline.jobs.submit_pending"
SHIP_RELEASED = "clearance.pipeline.jobs.ship_released"
REDECLARE = "clearance.pipeline.jobs.redeclare"
DECLARE_BATCH = 300
SUBMIT_BATCH = SEND_BATCH
SHIP_BATCH = 500
TAX_BILL = "receipt_is_tax_bill"


def _order_ids(session: Session, event_ids: list[int]) -> list[int]:
    query = sa_select(col(Event.subject_id)).where(col(Event.id).in_(event_ids))
    return sorted(set(session.scalars(query)))


def declare_pending() -> int:
    """Declare every matched parcel that has no case yet, a few hundred per transaction;
    returns how many parcels it took (an invalid one is taken and left matched)."""
    return drain("declare", DECLARE_PENDING, _declare_step, DECLARE_BATCH)


def _declare_step() -> int:
    with session_scope() as session:
        order_ids = _undeclared_orders(session)
        declare_orders(session, order_ids)
    return len(order_ids)


def _undeclared_orders(session: Session) -> list[int]:
    """Orders of matched parcels without a case, oldest first; others' claims are skipped."""
    query = (
        select(col(Parcel.order_id))
        .outerjoin(ClearanceCase, col(ClearanceCase.parcel_id) == col(Parcel.id))
        # customs_state 'none' always holds without a case; it lets the partial index
        # ix_parcels_to_declare serve the query.
        .where(col(Parcel.floor_state) == "received", col(Parcel.customs_state) == "none")
        .where(col(ClearanceCase.id).is_(None))
        .order_by(col(Parcel.id))
        .limit(DECLARE_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Parcel, skip_locked=True)
    return list(session.exec(query).all())


def redeclare(order_ids: list[int]) -> int:
    """Declare again the cases of these orders that an invalid build left matched (sweeper)."""
    with session_scope() as session:
        return declare_orders(session, sorted(set(order_ids)))


def submit_pending() -> int:
    """Hand every pending message to its gateway, a few hundred per transaction (draining)."""
    return drain("submit", SUBMIT_PENDING, _submit_step, SUBMIT_BATCH)


def _submit_step() -> int:
    with session_scope() as session:
        return send_pending_batch(session)


def send_pending(case_ids: list[int]) -> int:
    """Hand the pending messages of these cases to their gateways (sweeper, broker retries)."""
    with session_scope() as session:
        query = sa_select(col(ClearanceCase.order_id)).where(col(ClearanceCase.id).in_(case_ids))
        return send_for_orders(session, list(session.scalars(query)))


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


def ingest_batch(
    exchange: FolderExchange, limit: int, totals: Counter[str], *, settle_s: float | None = None
) -> int:
    """Claim up to `limit` settled files, store them in one transaction, then archive them;
    returns how many were claimed and finished. Whatever fails on the way goes back at once."""
    settings, batch = pipeline_settings(), Counter[str]()
    settle = settings.receipt_settle_s if settle_s is None else settle_s
    with exchange.claiming(settings.claim_dead_after_s / 5):
        claimed = list(exchange.claim_receipts(limit, settle))
        readable = _readable(exchange, claimed, batch, settings.unreadable_grace_s)
        if readable:
            _store(exchange, readable, batch)
    totals.update(batch)
    return len(claimed) - batch["retrying"]


MAX_FILE_NAME = 200  # Receipt.file_name's column length


def _readable(
    exchange: FolderExchange, claimed: list[IncomingFile], totals: Counter[str], grace_s: float
) -> list[tuple[IncomingFile, ReceiptFile]]:
    """The claimed files that parse; tax bills archived, unreadable ones put back or set aside."""
    readable: list[tuple[IncomingFile, ReceiptFile]] = []
    for incoming in claimed:
        if len(incoming.name) > MAX_FILE_NAME:
            # Longer than receipts.file_name holds: set aside, never stored half-named.
            exchange.failed(incoming, f"file name longer than {MAX_FILE_NAME} characters")
            totals["refused"] += 1
            continue
        try:
            parsed = parse_receipts(incoming.data)
        except DomainError as exc:
            totals[_unreadable(exchange, incoming, exc, grace_s)] += 1
            continue
        raw = incoming.data.decode("utf-8", "replace")
        readable.append((incoming, ReceiptFile(incoming.name, raw, parsed)))
    return readable


def _unreadable(
    exchange: FolderExchange, incoming: IncomingFile, exc: DomainError, grace_s: float
) -> str:
    if exc.code == TAX_BILL:
        # CEB816 is a tax bill, not a status: stored and reconciled, then archived.
        try:
            store_tax_bills(incoming.data)
        except DomainError as bad:
            exc = bad
        else:
            exchange.done_many([incoming])
            return "tax_bill"
    if not exchange.unreadable(incoming, f"{exc.code}: {exc.message}", grace_s):
        return "retrying"  # perhaps still being written: read again after the grace
    log.warning("receipt %s refused: %s", incoming.name, exc)
    return "refused"


def _store(
    exchange: FolderExchange,
    readable: list[tuple[IncomingFile, ReceiptFile]],
    totals: Counter[str],
) -> None:
    try:
        with session_scope() as session:
            totals.update(ingest_files(session, [file for _, file in readable]))
    except (DataError, IntegrityError):
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


def ship_released() -> int:
    """Ship every released case whose parcel went out at the gate, in batches (draining)."""
    return drain("ship", SHIP_RELEASED, _ship_step, SHIP_BATCH)


def _ship_step() -> int:
    with session_scope() as session:
        case_ids = gated_released(session, SHIP_BATCH)
        ship_cases(session, case_ids)
    return len(case_ids)


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
