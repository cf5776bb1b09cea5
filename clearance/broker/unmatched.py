"""Receipts that matched no declaration (unknown guid/copNo): listed for the brokers of the
warehouse they concern, counted on the dashboard, and marked handled by a broker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree
from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session, col

from clearance.pipeline.models import Receipt
from declarations.codes import describe_status
from declarations.fmt import china_time
from declarations.receipts import open_file
from kit.auth import Principal, Role
from kit.errors import DomainError, NotFound
from kit.outbox import utcnow
from warehouses.models import Warehouse

LIST_LIMIT = 200
# What each receipt type answers (cbec-facts §1), in Chinese and English.
RECEIPT_KINDS: dict[str, tuple[str, str]] = {
    "CEB312": ("订单回执", "order receipt"),
    "CEB412": ("支付单回执", "payment receipt"),
    "CEB512": ("运单回执", "waybill receipt"),
    "CEB622": ("清单回执", "inventory receipt"),
    "CEB624": ("撤销申请单回执", "cancellation receipt"),
    "CEB626": ("退货申请单回执", "return receipt"),
    "CEB900": ("报文格式校验失败回执", "schema failure receipt"),
}
# The business keys a receipt may name, in the order a person looks for them (§2.9, §6.3).
ABOUT_KEYS = ("copNo", "invtNo", "orderNo", "logisticsNo", "logisticsCode", "customsCode")


def visible_warehouse_ids(session: Session, principal: Principal) -> list[int]:
    """Ids of the warehouses the caller works for (admins: all)."""
    rows = session.execute(select(col(Warehouse.id), col(Warehouse.code))).tuples()
    allowed = principal.role == Role.admin
    return [wid for wid, code in rows if allowed or code in principal.warehouse_codes]


def _open_for(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Unhandled unmatched receipts of the caller's warehouses; one no single warehouse could
    be told for is shown to admins only (its keys may be any tenant's)."""
    mine = col(Receipt.warehouse_id).in_(visible_warehouse_ids(session, principal))
    scope = or_(mine, col(Receipt.warehouse_id).is_(None)) if principal.role == Role.admin else mine
    unhandled = col(Receipt.handled_at).is_(None)
    return (col(Receipt.outcome) == "unmatched") & unhandled & scope


def open_count(session: Session, principal: Principal) -> int:
    """How many unmatched receipts wait for the caller (the dashboard's count)."""
    query = select(func.count()).select_from(Receipt).where(_open_for(session, principal))
    return int(session.execute(query).scalar_one())


def unmatched_receipts(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Unhandled unmatched receipts the caller may see, newest first."""
    codes = dict(session.execute(select(col(Warehouse.id), col(Warehouse.code))).tuples().all())
    query = select(Receipt).where(_open_for(session, principal))
    query = query.order_by(col(Receipt.received_at).desc(), col(Receipt.id).desc())
    return [_row(r, codes) for r in session.scalars(query.limit(LIST_LIMIT))]


def _row(receipt: Receipt, codes: dict[int, str]) -> dict[str, Any]:
    kind = RECEIPT_KINDS.get(receipt.message_type, (receipt.message_type, receipt.message_type))
    meaning = describe_status(receipt.return_status)
    return {
        "id": receipt.id,
        "file_name": receipt.file_name or "",
        "received_at": beijing_label(receipt.received_at),
        "message_type": receipt.message_type,
        "kind_zh": kind[0],
        "kind_en": kind[1],
        "about": about(receipt.raw),
        "guid": receipt.guid,
        "return_status": receipt.return_status,
        "meaning_zh": meaning.zh,
        "meaning_en": meaning.en,
        "return_info": receipt.return_info,
        "warehouse": codes.get(receipt.warehouse_id or 0, ""),
    }


def beijing_label(moment: datetime) -> str:
    """A stored UTC time as a person reads it, on Beijing time and saying so."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{china_time(aware):%Y-%m-%d %H:%M:%S} 北京时间 (Beijing time)"


def about(raw: str) -> dict[str, str]:
    """The business keys the stored receipt names (copNo, orderNo, logisticsNo …), pure."""
    try:
        root = open_file(raw.encode("utf-8"))
    except DomainError:
        return {}
    found: dict[str, str] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name in ABOUT_KEYS and element.text and name not in found:
            found[name] = element.text.strip()
    return {key: found[key] for key in ABOUT_KEYS if key in found}


def mark_handled(session: Session, principal: Principal, receipt_id: int) -> dict[str, Any]:
    """A broker has dealt with an unmatched receipt: it leaves the list and the count."""
    receipt = session.get(Receipt, receipt_id)
    if receipt is None or not _may_see(session, principal, receipt):
        raise NotFound("receipt_not_found", f"no unmatched receipt {receipt_id}", "receipt_id")
    if receipt.handled_at is None:
        receipt.handled_at, receipt.handled_by = utcnow(), principal.actor[:80]
        session.add(receipt)
    return {"id": receipt.id, "handled_by": receipt.handled_by}


def _may_see(session: Session, principal: Principal, receipt: Receipt) -> bool:
    if receipt.outcome != "unmatched":
        return False
    if receipt.warehouse_id is None:
        return principal.role == Role.admin
    return receipt.warehouse_id in visible_warehouse_ids(session, principal)
