"""Applies customs receipts to cases: store raw, de-duplicate, apply only if newer, record."""

from __future__ import annotations

from sqlmodel import Session, col, select

from clearance.cases import move
from clearance.models import ClearanceCase, CustomsMessage, Receipt
from clearance.state import customs_may_move, state_for_status
from declarations.codes import describe_status
from declarations.receipts import Receipt as ParsedReceipt
from kit import outbox
from kit.settings import get_settings

ACTOR = "customs"


def _already_stored(session: Session, receipt: ParsedReceipt) -> bool:
    query = select(Receipt.id).where(
        Receipt.guid == receipt.guid,
        Receipt.return_status == receipt.return_status,
        Receipt.return_time == receipt.return_time,
    )
    return session.exec(query).first() is not None


def _find_case(session: Session, receipt: ParsedReceipt) -> ClearanceCase | None:
    cop_no = receipt.keys.get("copNo")
    if cop_no:
        query = select(ClearanceCase).where(ClearanceCase.cop_no == cop_no)
    else:
        query = (
            select(ClearanceCase)
            .join(CustomsMessage, col(CustomsMessage.case_id) == col(ClearanceCase.id))
            .where(CustomsMessage.guid == receipt.guid)
        )
    if not get_settings().is_sqlite:
        query = query.with_for_update()
    return session.exec(query).first()


def _is_newer(case: ClearanceCase, receipt: ParsedReceipt) -> bool:
    return case.last_return_time is None or receipt.return_time > case.last_return_time


def _apply(session: Session, case: ClearanceCase, receipt: ParsedReceipt) -> None:
    case.last_status, case.last_return_time = receipt.return_status, receipt.return_time
    case.last_return_info = receipt.return_info[:1000]
    case.pre_no = receipt.keys.get("preNo") or case.pre_no
    case.invt_no = receipt.keys.get("invtNo") or case.invt_no
    meaning = describe_status(receipt.return_status)
    payload = {
        "return_status": receipt.return_status,
        "return_time": receipt.return_time,
        "return_info": receipt.return_info,
        "meaning_zh": meaning.zh,
        "meaning_en": meaning.en,
        "class": meaning.klass.value,
    }
    source = f"receipt:{receipt.guid}:{receipt.return_status}"
    target = state_for_status(receipt.return_status)
    if target and target != case.state and customs_may_move(case.state):
        move(session, case, target, actor=ACTOR, source=source, payload=payload, by_customs=True)
    else:
        session.add(case)
        outbox.record(
            session,
            "clearance.receipt",
            ("order", case.order_id),
            actor=ACTOR,
            source=source,
            payload=payload,
        )


def ingest(
    session: Session, receipts: list[ParsedReceipt], *, file_name: str, raw: str
) -> dict[str, int]:
    """Store and apply every receipt of one file; returns counts per outcome."""
    counts: dict[str, int] = {}
    for receipt in receipts:
        outcome = _ingest_one(session, receipt, file_name, raw)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _ingest_one(session: Session, receipt: ParsedReceipt, file_name: str, raw: str) -> str:
    if _already_stored(session, receipt):
        return "duplicate"
    case = _find_case(session, receipt)
    row = Receipt(
        message_type=receipt.message_type,
        guid=receipt.guid,
        cop_no=receipt.keys.get("copNo"),
        return_status=receipt.return_status,
        return_time=receipt.return_time,
        return_info=receipt.return_info[:1000],
        case_id=case.id if case else None,
        outcome="unmatched",
        file_name=file_name,
        raw=raw,
    )
    if case is not None:
        row.outcome = "applied" if _is_newer(case, receipt) else "stale"
        if row.outcome == "applied":
            _apply(session, case, receipt)
    session.add(row)
    session.flush()
    return row.outcome
