"""The broker's workspace: declarations per warehouse by state, one declaration in full (messages,
pre-flight findings, receipts with their meaning, timeline), and the exceptions to work on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from clearance.broker.actions import CORRECTABLE
from clearance.pipeline import documents, taxbills
from clearance.pipeline.declare import build_inventory, pretty, transfer_for
from clearance.pipeline.models import ClearanceCase, CustomsMessage, Receipt
from clearance.pipeline.sweep import stuck_cases
from clearance.printing.service import font_warnings
from declarations.codes import describe_status
from declarations.preflight import preflight
from kit import outbox
from kit.auth import Principal, Role
from kit.errors import NotFound
from kit.outbox import utcnow
from warehouses.models import Order, Warehouse

LIST_LIMIT = 200
# The exception view's classes, keyed by the receipt that put a case there (cbec-facts §3.2).
EXCEPTION_CLASSES = (
    ("rejected", "100 退单 rejected", "rejected"),
    ("manual_review", "300 人工审核 manual review", "manual_review"),
    ("inspection", "500 查验 inspection", "inspection"),
    ("held", "501–599 扣留 held", "held"),
    ("returned", "700 退运 returned", "returned"),
)


@dataclass(frozen=True)
class DeclarationFilter:
    warehouse: str | None = None
    state: str | None = None
    search: str | None = None


def visible_warehouses(session: Session, principal: Principal) -> dict[int, str]:
    """Warehouse ids and codes the caller declares for (admins: all)."""
    rows = session.execute(select(col(Warehouse.id), col(Warehouse.code))).tuples()
    return {
        wid: code
        for wid, code in rows
        if principal.role == Role.admin or code in principal.warehouse_codes
    }


def waited(since: datetime, now: datetime | None = None) -> str:
    """Time in status as a person reads it: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = int(((now or utcnow()) - _aware(since)).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes} min"
    if days < 1:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(case: ClearanceCase, order_no: str, code: str) -> dict[str, Any]:
    meaning = describe_status(case.last_status) if case.last_status is not None else None
    return {
        "cop_no": case.cop_no,
        "order_no": order_no,
        "warehouse": code,
        "state": case.state,
        "last_status": case.last_status,
        "meaning_zh": meaning.zh if meaning else "",
        "meaning_en": meaning.en if meaning else "",
        "reason": case.last_return_info or "",
        "since": _aware(case.state_since).isoformat(),
        "waited": waited(case.state_since),
    }


def list_declarations(
    session: Session, principal: Principal, where: DeclarationFilter
) -> list[dict[str, Any]]:
    """Declarations the caller may see, longest-waiting first, filtered."""
    codes = visible_warehouses(session, principal)
    query = (
        select(ClearanceCase, col(Order.order_no), col(Warehouse.code))
        .join(Order, col(Order.id) == col(ClearanceCase.order_id))
        .join(Warehouse, col(Warehouse.id) == col(ClearanceCase.warehouse_id))
        .where(col(ClearanceCase.warehouse_id).in_(codes))
    )
    if where.warehouse:
        query = query.where(col(Warehouse.code) == where.warehouse)
    if where.state:
        query = query.where(col(ClearanceCase.state) == where.state)
    if where.search:
        term = where.search.strip()
        query = query.where((col(Order.order_no) == term) | (col(ClearanceCase.cop_no) == term))
    query = query.order_by(col(ClearanceCase.state_since)).limit(LIST_LIMIT)
    return [_summary(*row) for row in session.execute(query).tuples()]


def state_counts(session: Session, principal: Principal) -> dict[str, dict[str, int]]:
    """Declarations per visible warehouse and state: warehouse code → state → count."""
    codes = visible_warehouses(session, principal)
    query = (
        select(col(ClearanceCase.warehouse_id), col(ClearanceCase.state), func.count())
        .where(col(ClearanceCase.warehouse_id).in_(codes))
        .group_by(col(ClearanceCase.warehouse_id), col(ClearanceCase.state))
    )
    counts: dict[str, dict[str, int]] = {code: {} for code in sorted(codes.values())}
    for warehouse_id, state, count in session.execute(query).tuples():
        counts[codes[warehouse_id]][state] = count
    return counts


def find_case(session: Session, principal: Principal, cop_no: str) -> ClearanceCase:
    """A declaration the caller may work on; anyone else's is reported as not found."""
    case = session.scalars(select(ClearanceCase).where(col(ClearanceCase.cop_no) == cop_no)).first()
    if case is None or case.warehouse_id not in visible_warehouses(session, principal):
        raise NotFound("declaration_not_found", f"no declaration {cop_no}", "cop_no")
    return case


def cases_by_cop_no(
    session: Session, principal: Principal, cop_nos: list[str]
) -> list[ClearanceCase]:
    return [find_case(session, principal, cop_no) for cop_no in cop_nos]


def declaration_view(session: Session, case: ClearanceCase) -> dict[str, Any]:
    """Everything about one declaration, as the broker's page and API show it."""
    order = session.get(Order, case.order_id)
    warehouse = session.get(Warehouse, case.warehouse_id)
    assert order is not None and warehouse is not None and case.id is not None
    messages = _messages(session, case.id)
    return {
        **_summary(case, order.order_no, warehouse.code),
        "pre_no": case.pre_no,
        "invt_no": case.invt_no,
        "order": _order_fields(order),
        "correctable": sorted(CORRECTABLE),
        "messages": [_message(m) for m in messages],
        "documents": documents.case_documents(session, case.id),
        "preflight": preflight_findings(session, case, warehouse),
        "receipts": _receipts(session, case.id),
        "timeline": [_event(e) for e in outbox.timeline(session, "order", case.order_id)],
        "font_warnings": font_warnings(session, warehouse.code),
    }


def _order_fields(order: Order) -> dict[str, Any]:
    shown = ["order_no", "buyer_name", "buyer_id_number", "buyer_phone", "consignee_name"]
    shown += ["consignee_phone", "consignee_address", "goods_value", "freight", "tax_total"]
    shown += ["discount", "actural_paid"]
    return {name: str(getattr(order, name)) for name in shown}


def _messages(session: Session, case_id: int) -> list[CustomsMessage]:
    query = select(CustomsMessage).where(col(CustomsMessage.case_id) == case_id)
    return list(session.scalars(query.order_by(col(CustomsMessage.id).desc())))


def _message(message: CustomsMessage) -> dict[str, Any]:
    return {
        "message_type": message.message_type,
        "guid": message.guid,
        "app_type": message.app_type,
        "transport_state": message.transport_state,
        "transport_error": message.transport_error,
        "file_name": message.file_name,
        "created_at": _aware(message.created_at).isoformat(),
        "written_at": _aware(message.written_at).isoformat() if message.written_at else None,
        "xml": pretty(message.xml),
    }


def preflight_findings(
    session: Session, case: ClearanceCase, warehouse: Warehouse
) -> list[dict[str, Any]]:
    """What customs would reject if the declaration were (re)built from today's order data."""
    inventory = build_inventory(session, case)
    problems = preflight(inventory, transfer_for(warehouse), require_documents=False)
    return [{**p.as_dict(), "severity": p.severity} for p in problems]


def _receipts(session: Session, case_id: int) -> list[dict[str, Any]]:
    query = select(Receipt).where(col(Receipt.case_id) == case_id)
    query = query.order_by(col(Receipt.return_time), col(Receipt.id))
    return [_receipt(r) for r in session.scalars(query)]


def _receipt(receipt: Receipt) -> dict[str, Any]:
    meaning = describe_status(receipt.return_status)
    return {
        "message_type": receipt.message_type,
        "guid": receipt.guid,
        "return_status": receipt.return_status,
        "return_time": receipt.return_time,
        "return_info": receipt.return_info,
        "meaning_zh": meaning.zh,
        "meaning_en": meaning.en,
        "class": meaning.klass.value,
        "outcome": receipt.outcome,
        "file_name": receipt.file_name,
    }


def _event(event: outbox.Event) -> dict[str, Any]:
    return {
        "topic": event.topic,
        "at": _aware(event.occurred_at).isoformat(),
        "actor": event.actor,
        "source": event.source,
        "payload": event.payload,
    }


def exceptions(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Cases needing a person, grouped by receipt class, plus stuck ones and failed transport."""
    groups = [
        _group(key, title, list_declarations(session, principal, DeclarationFilter(state=state)))
        for key, title, state in EXCEPTION_CLASSES
    ]
    visible = visible_warehouses(session, principal)
    stuck = [c for c in stuck_cases(session) if c.warehouse_id in visible]
    groups.append(_group("stuck", "heard nothing for too long 久无回执", _rows(session, stuck)))
    groups.append(
        _group("transport_failed", "transport failed 传输失败", _failed(session, visible))
    )
    groups.append(_held_before_declaring(session, visible))
    groups.append(_waiting_for_disk(session, visible))
    return groups + _held_for_documents(session, visible) + [_tax_mismatches(session, visible)]


def _tax_mismatches(session: Session, visible: dict[int, str]) -> dict[str, Any]:
    """Cases whose CEB816 tax bill differs from the tax withheld at intake beyond tolerance."""
    bills = taxbills.mismatched_cases(session, list(visible))
    cases = session.scalars(select(ClearanceCase).where(col(ClearanceCase.id).in_(bills)))
    rows = [
        row | {"reason": taxbills.describe_mismatch(bills[case_id])}
        for case_id, row in _rows_by_id(session, cases)
    ]
    return _group("tax_mismatch", "税单与代扣税款不符 tax bill differs from tax withheld", rows)


def _held_for_documents(session: Session, visible: dict[int, str]) -> list[dict[str, Any]]:
    """CEB621s waiting for their three documents: still in time, and overdue or refused (the
    ones a person must chase); each row says what is missing. Released by the receipts."""
    held = documents.held_cases(session, list(visible))
    lacking = documents.lacking_by_case(session, held)
    cases = session.scalars(select(ClearanceCase).where(col(ClearanceCase.id).in_(lacking)))
    waiting: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for case_id, row in _rows_by_id(session, cases):
        rows = lacking[case_id]
        row = row | {"reason": documents.describe(rows)}
        late = any(r.state in documents.FAILED for r in rows)
        (failed if late else waiting).append(row)
    return [
        _group("documents_waiting", "等待三单 waiting for order/payment/waybill", waiting),
        _group("documents_failed", "三单超时或被退 documents overdue or rejected", failed),
    ]


def _group(key: str, title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "title": title, "count": len(rows), "rows": rows}


def _rows(session: Session, cases: list[ClearanceCase]) -> list[dict[str, Any]]:
    codes = dict(session.execute(select(col(Warehouse.id), col(Warehouse.code))).tuples().all())
    rows = []
    for case in cases:
        order = session.get(Order, case.order_id)
        rows.append(
            _summary(case, order.order_no if order else "?", codes.get(case.warehouse_id, "?"))
        )
    return rows


def _waiting_for_disk(session: Session, visible: dict[int, str]) -> dict[str, Any]:
    """Messages the send folder refused for a passing reason (a full disk): how many, why, and
    the cases they belong to; the sweeper sends them by itself once the disk takes them."""
    waiting = (
        select(col(CustomsMessage.case_id), col(CustomsMessage.transport_error))
        .join(ClearanceCase, col(ClearanceCase.id) == col(CustomsMessage.case_id))
        .where(_refused_by_disk(), col(ClearanceCase.warehouse_id).in_(visible))
        .order_by(col(CustomsMessage.id).desc())
    )
    count = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    found = session.execute(waiting.limit(LIST_LIMIT)).tuples().all()
    reasons = dict(found)
    cases = session.scalars(select(ClearanceCase).where(col(ClearanceCase.id).in_(reasons)))
    rows = [row | {"reason": reasons[row_id]} for row_id, row in _rows_by_id(session, cases)]
    group = _group("waiting_for_disk", "waiting for disk 等待磁盘空间", rows)
    return group | {"count": count, "note": found[0][1] if found else ""}


DECLARATION_INVALID = "clearance.declaration_invalid"


def _held_before_declaring(session: Session, visible: dict[int, str]) -> dict[str, Any]:
    """Parcels whose declaration could not be built as it stands (e.g. a net weight over the
    gross): still matched, never sent, each with why in Chinese and English."""
    matched = select(ClearanceCase).where(
        col(ClearanceCase.state) == "matched", col(ClearanceCase.warehouse_id).in_(visible)
    )
    cases = list(session.scalars(matched.order_by(col(ClearanceCase.id)).limit(LIST_LIMIT)))
    why = _last_invalid(session, [c.order_id for c in cases])
    held = [c for c in cases if c.order_id in why]
    rows = [row | why[c.order_id] for c, row in zip(held, _rows(session, held), strict=True)]
    return _group("held_before_declaring", "held before declaring 申报前待处理", rows)


def _last_invalid(session: Session, order_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each order's latest refused build: reason (Chinese / English), reason_zh, reason_en."""
    query = (
        select(outbox.Event)
        .where(
            col(outbox.Event.subject_type) == "order",
            col(outbox.Event.subject_id).in_(order_ids),
            col(outbox.Event.topic) == DECLARATION_INVALID,
        )
        .order_by(col(outbox.Event.id))
    )
    found = {}
    for event in session.scalars(query):
        en, zh = str(event.payload.get("message", "")), str(event.payload.get("message_zh", ""))
        reason = f"{zh} / {en}" if zh else en
        found[event.subject_id] = {"reason": reason, "reason_zh": zh, "reason_en": en}
    return found


def _refused_by_disk() -> Any:
    """Waiting, or back in pending for the sweeper's next attempt (attempts stay until sent)."""
    state, attempts = col(CustomsMessage.transport_state), col(CustomsMessage.attempts)
    return or_(state == "waiting", and_(state == "pending", attempts > 0))


def _rows_by_id(session: Session, cases: Any) -> list[tuple[int, dict[str, Any]]]:
    listed = list(cases)
    return [(c.id or 0, row) for c, row in zip(listed, _rows(session, listed), strict=True)]


def _failed(session: Session, visible: dict[int, str]) -> list[dict[str, Any]]:
    query = (
        select(ClearanceCase)
        .join(CustomsMessage, col(CustomsMessage.case_id) == col(ClearanceCase.id))
        .where(
            col(CustomsMessage.transport_state) == "failed",
            col(ClearanceCase.warehouse_id).in_(visible),
        )
        .distinct()
        .limit(LIST_LIMIT)
    )
    return _rows(session, list(session.scalars(query)))
