"""The three documents (三单) of each case: who files the order (CEB311), payment (CEB411) and
waybill (CEB511), what customs has of them (312/412/512 receipts), and the CEB621 held until the
documents its warehouse requires are there, released by their receipts, flagged when late.

Customs compares the inventory with the three documents and releases only if they agree
(cbec-facts §5.3); the platform, the payment company and the carrier file them (§1, A56)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import update
from sqlmodel import Session, col, select

from clearance.pipeline.declare import DeclarationInvalid
from clearance.pipeline.models import ClearanceCase, CustomsMessage, OrderDocument
from clearance.pipeline.paperwork import (
    order_lines,
    order_paper,
    payment_paper,
    render_paper,
    waybill_paper,
)
from declarations.receipts import Receipt
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.outbox import utcnow
from warehouses.models import Merchant, Order, Parcel, Warehouse
from warehouses.profiles import load_profiles

ACTOR = "clearway"
DOC_TYPES = ("CEB311", "CEB411", "CEB511")
RECEIPT_OF = {"CEB312": "CEB311", "CEB412": "CEB411", "CEB512": "CEB511"}
OTHER_SENDER = {"CEB311": "platform", "CEB411": "payment_company", "CEB511": "carrier"}
NAMES = {
    "CEB311": ("订单", "order"),
    "CEB411": ("支付单", "payment"),
    "CEB511": ("运单", "waybill"),
}
STATE_NAMES = {
    "awaiting": ("待回执", "awaiting receipt"),
    "declared": ("已申报", "declared, not yet accepted"),
    "rejected": ("被退单", "rejected"),
    "invalid": ("无法生成", "cannot be built"),
    "overdue": ("超时", "overdue"),
}
THERE = frozenset({"filed_elsewhere", "accepted"})
FAILED = frozenset({"rejected", "invalid", "overdue"})
SUBMIT_PENDING = "clearance.pipeline.jobs.submit_pending"


class DocumentSettings(BaseSettings):
    """Who files CEB311/CEB411 (CLEARWAY_DOCUMENT_SENDERS), keyed "*", a merchant code or
    "MERCHANT/WH" (the most specific wins): "clearway", or the other party."""

    model_config = SettingsConfigDict(env_prefix="CLEARWAY_", env_file=".env", extra="ignore")

    document_senders: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {"*": {"CEB311": "platform", "CEB411": "payment_company"}}
    )

    @field_validator("document_senders")
    @classmethod
    def _known_senders(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for senders in value.values():
            for doc_type, sender in senders.items():
                if doc_type not in ("CEB311", "CEB411"):
                    raise ValueError(f"{doc_type}: only CEB311 and CEB411 are set per merchant")
                if sender not in ("clearway", OTHER_SENDER[doc_type]):
                    raise ValueError(f"{doc_type}: sender is clearway or {OTHER_SENDER[doc_type]}")
        return value


def warehouse_rules(profile: dict[str, Any]) -> dict[str, Any]:
    """A warehouse's `[XX.documents]` profile: whether it files the waybill (it is the carrier's
    logistics declarant), which documents the CEB621 waits for, and for how long."""
    rules = profile.get("documents", {})
    return {
        "logistics_declarant": bool(rules.get("logistics_declarant", False)),
        "required": tuple(rules.get("required", DOC_TYPES)),
        "timeout_s": float(rules.get("timeout_s", 4 * 3600)),
    }


def senders_for(
    configured: dict[str, dict[str, str]], merchant: str, warehouse: str, rules: dict[str, Any]
) -> dict[str, str]:
    """Pure rule: who files each document for this merchant at this warehouse."""
    senders = dict(OTHER_SENDER)
    for key in ("*", merchant, f"{merchant}/{warehouse}"):
        senders |= configured.get(key, {})
    senders["CEB511"] = "clearway" if rules["logistics_declarant"] else "carrier"
    return senders


def missing(states: dict[str, str], required: tuple[str, ...]) -> list[str]:
    """Pure rule: the required documents customs does not have yet."""
    return [doc for doc in required if states.get(doc) not in THERE]


def filed_elsewhere(logistics_code: str) -> frozenset[str]:
    """Documents other parties file for a warehouse under the default senders ("*"), as the
    simulator's 三单对碰 names them (order, payment, waybill)."""
    profiles = load_profiles()
    rules = next(
        (
            warehouse_rules(p)
            for p in profiles.values()
            if p.get("logistics_code") == logistics_code
        ),
        warehouse_rules({}),
    )
    senders = senders_for(DocumentSettings().document_senders, "*", "*", rules)
    return frozenset(NAMES[doc][1] for doc, who in senders.items() if who != "clearway")


# -- opening: at declare time ---------------------------------------------------------------


def open_documents(session: Session, cases: list[ClearanceCase]) -> int:
    """Record each new case's documents, build the ones we file, and hold its CEB621 until the
    required ones are there; returns how many CEB621s were held. Safe to run twice."""
    opened = {d.case_id for d in _documents_of(session, [c.id for c in cases if c.id])}
    fresh = [c for c in cases if c.id and c.id not in opened]
    if not fresh:
        return 0
    profiles, configured = load_profiles(), DocumentSettings().document_senders
    codes = dict(session.exec(select(Warehouse.id, Warehouse.code)).all())
    opened_now = [_open_one(session, c, profiles[codes[c.warehouse_id]], configured) for c in fresh]
    held = [item for item in opened_now if item is not None]
    _hold(session, [c.id for c, _ in held if c.id])
    outbox.record_many(session, [_held_event(c, lacking) for c, lacking in held])
    return len(held)


def _documents_of(session: Session, case_ids: list[int]) -> list[OrderDocument]:
    if not case_ids:
        return []
    query = select(OrderDocument).where(col(OrderDocument.case_id).in_(case_ids))
    return list(session.exec(query).all())


def _open_one(
    session: Session, case: ClearanceCase, profile: dict[str, Any], configured: Any
) -> tuple[ClearanceCase, list[str]] | None:
    order = session.get(Order, case.order_id)
    assert order is not None and case.id is not None
    merchant = session.get(Merchant, order.merchant_id)
    warehouse = session.get(Warehouse, case.warehouse_id)
    assert merchant is not None and warehouse is not None
    rules = warehouse_rules(profile)
    senders = senders_for(configured, merchant.code, warehouse.code, rules)
    states = {}
    for doc_type in DOC_TYPES:
        row = _document(session, case, doc_type, senders[doc_type])
        session.add(row)
        states[doc_type] = row.state
    lacking = missing(states, rules["required"])
    return (case, lacking) if lacking else None


def _document(session: Session, case: ClearanceCase, doc_type: str, sender: str) -> OrderDocument:
    assert case.id is not None
    row = OrderDocument(
        case_id=case.id,
        order_id=case.order_id,
        warehouse_id=case.warehouse_id,
        doc_type=doc_type,
        sender=sender,
        state="filed_elsewhere",
    )
    if sender != "clearway":
        return row
    try:
        guid, xml = _paper(session, case, doc_type)
    except DeclarationInvalid as exc:
        row.state, row.info = "invalid", (exc.message_zh or exc.message)[:1000]
        return row
    message = CustomsMessage(case_id=case.id, message_type=doc_type, guid=guid, xml=xml)
    session.add(message)
    row.state, row.guid = "awaiting", guid
    return row


def _paper(session: Session, case: ClearanceCase, doc_type: str) -> tuple[str, str]:
    order = session.get(Order, case.order_id)
    merchant = session.get(Merchant, order.merchant_id) if order else None
    warehouse = session.get(Warehouse, case.warehouse_id)
    parcel = session.get(Parcel, case.parcel_id)
    assert order and merchant and warehouse and parcel
    if doc_type == "CEB311":
        paper: Any = order_paper(order, merchant, order_lines(session, order.id or 0))
    elif doc_type == "CEB411":
        paper = payment_paper(order, merchant)
    else:
        paper = waybill_paper(order, parcel, warehouse)
    return paper.guid, render_paper(paper, warehouse)


def _hold(session: Session, case_ids: list[int]) -> None:
    if case_ids:
        session.flush()
        session.execute(
            update(CustomsMessage)
            .where(
                col(CustomsMessage.case_id).in_(case_ids),
                col(CustomsMessage.message_type) == "CEB621",
                col(CustomsMessage.transport_state) == "pending",
            )
            .values(transport_state="held")
        )


def _held_event(case: ClearanceCase, lacking: list[str]) -> dict[str, Any]:
    return {
        "topic": "clearance.documents_held",
        "subject_type": "order",
        "subject_id": case.order_id,
        "actor": ACTOR,
        "payload": {"missing": lacking},
    }


# -- receipts: 312/412/512 (and a CEB900 refusing one of ours) ------------------------------


def apply_receipts(session: Session, receipts: list[Receipt]) -> int:
    """Apply the receipts that answer our documents (only if newer), then release the CEB621s
    whose documents are now all there; returns how many were released."""
    ours = [r for r in receipts if r.message_type in RECEIPT_OF or r.message_type == "CEB900"]
    if not ours:
        return 0
    query = select(OrderDocument).where(col(OrderDocument.guid).in_({r.guid for r in ours}))
    rows = {row.guid: row for row in session.exec(query)}
    touched: set[int] = set()
    for receipt in sorted(ours, key=lambda r: r.return_time):
        row = rows.get(receipt.guid)
        if row is not None and _newer(row, receipt):
            _apply(session, row, receipt)
            touched.add(row.case_id)
    return release_ready(session, sorted(touched))


def _newer(row: OrderDocument, receipt: Receipt) -> bool:
    return row.last_return_time is None or receipt.return_time > row.last_return_time


def state_of(status: int, message_type: str, current: str) -> str:
    """Pure rule: 120 is customs' OK for order/payment/waybill; 4, 100, <0 and CEB900 refuse
    it (§3.2); 1-3 mean declared, unless customs already accepted it."""
    if message_type == "CEB900" or status in (4, 100) or status < 0:
        return "rejected"
    if status == 120:
        return "accepted"
    return current if current == "accepted" else "declared"


def _apply(session: Session, row: OrderDocument, receipt: Receipt) -> None:
    row.state = state_of(receipt.return_status, receipt.message_type, row.state)
    row.last_status, row.last_return_time = receipt.return_status, receipt.return_time
    row.info, row.updated_at = receipt.return_info[:1000], utcnow()
    session.add(row)
    outbox.record(
        session,
        f"clearance.document_{row.state}",
        ("order", row.order_id),
        actor="customs",
        source=f"receipt:{receipt.guid}:{receipt.return_status}:{receipt.return_time}",
        payload={"doc_type": row.doc_type, "status": receipt.return_status},
    )


# -- release and time limit ------------------------------------------------------------------


def held_cases(
    session: Session, warehouse_ids: list[int] | None = None, case_ids: list[int] | None = None
) -> list[Any]:
    """(case id, warehouse id, order id, held since) of every CEB621 waiting for documents."""
    query = (
        select(
            CustomsMessage.case_id,
            ClearanceCase.warehouse_id,
            ClearanceCase.order_id,
            CustomsMessage.created_at,
        )
        .join(ClearanceCase, col(ClearanceCase.id) == col(CustomsMessage.case_id))
        .where(col(CustomsMessage.transport_state) == "held")
        .order_by(col(CustomsMessage.id))
    )
    if warehouse_ids is not None:
        query = query.where(col(ClearanceCase.warehouse_id).in_(warehouse_ids))
    if case_ids is not None:
        query = query.where(col(CustomsMessage.case_id).in_(case_ids))
    return list(session.exec(query).all())


def lacking_by_case(session: Session, held: list[Any]) -> dict[int, list[OrderDocument]]:
    """For each held case, its required documents that are not there yet."""
    profiles = load_profiles()
    codes = dict(session.exec(select(Warehouse.id, Warehouse.code)).all())
    documents: dict[int, dict[str, OrderDocument]] = {}
    for row in _documents_of(session, [case_id for case_id, *_ in held]):
        documents.setdefault(row.case_id, {})[row.doc_type] = row
    lacking = {}
    for case_id, warehouse_id, *_ in held:
        rows = documents.get(case_id, {})
        required = warehouse_rules(profiles[codes[warehouse_id]])["required"]
        names = missing({d: r.state for d, r in rows.items()}, required)
        lacking[case_id] = [rows[d] for d in names if d in rows]
    return lacking


def release_ready(session: Session, case_ids: list[int]) -> int:
    """Hand to the submit stage the held CEB621s of these cases whose documents are there."""
    if not case_ids:
        return 0
    held = held_cases(session, case_ids=case_ids)
    lacking = lacking_by_case(session, held)
    ready = [h for h in held if not lacking[h[0]]]
    if not ready:
        return 0
    session.execute(
        update(CustomsMessage)
        .where(
            col(CustomsMessage.case_id).in_([h[0] for h in ready]),
            col(CustomsMessage.transport_state) == "held",
        )
        .values(transport_state="pending")
    )
    outbox.record_many(session, [_complete_event(order_id) for _, _, order_id, _ in ready])
    return len(ready)


def _complete_event(order_id: int) -> dict[str, Any]:
    return {
        "topic": "clearance.documents_complete",
        "subject_type": "order",
        "subject_id": order_id,
        "actor": ACTOR,
        "payload": {},
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sweep_documents() -> int:
    """Sweeper: release what is complete, and flag documents still missing after their
    warehouse's time limit as overdue (a broker exception; a late receipt still releases)."""
    with session_scope() as session:
        held = held_cases(session)
        released = release_ready(session, [h[0] for h in held])
        flagged = _flag_overdue(session, held)
    if released:
        jobs.enqueue_once("submit", SUBMIT_PENDING)
    return released + flagged


def _flag_overdue(session: Session, held: list[Any]) -> int:
    profiles, now = load_profiles(), utcnow()
    codes = dict(session.exec(select(Warehouse.id, Warehouse.code)).all())
    lacking, flagged = lacking_by_case(session, held), 0
    for case_id, warehouse_id, order_id, since in held:
        limit = timedelta(seconds=warehouse_rules(profiles[codes[warehouse_id]])["timeout_s"])
        late = [d for d in lacking.get(case_id, []) if d.state in ("awaiting", "declared")]
        if late and now - _aware(since) > limit:
            for row in late:
                row.state, row.updated_at = "overdue", now
                session.add(row)
            outbox.record(
                session,
                "clearance.documents_overdue",
                ("order", order_id),
                actor=ACTOR,
                payload={"missing": [row.doc_type for row in late]},
            )
            flagged += 1
    return flagged


def case_documents(session: Session, case_id: int) -> list[dict[str, Any]]:
    """A case's three documents as the broker's declaration page shows them."""
    return [
        {
            "doc_type": row.doc_type,
            "name_zh": NAMES[row.doc_type][0],
            "name_en": NAMES[row.doc_type][1],
            "sender": row.sender,
            "state": row.state,
            "last_status": row.last_status,
            "info": row.info,
        }
        for row in sorted(_documents_of(session, [case_id]), key=lambda r: r.doc_type)
    ]


def describe(rows: list[OrderDocument]) -> str:
    """What a held case lacks, as the broker reads it (Chinese first)."""
    parts = []
    for row in rows:
        zh, en = NAMES[row.doc_type]
        state_zh, state_en = STATE_NAMES.get(row.state, (row.state, row.state))
        info = f": {row.info}" if row.info else ""
        parts.append(f"缺{zh} {row.doc_type} {state_zh} / missing {en} ({state_en}){info}")
    return "; ".join(parts)
