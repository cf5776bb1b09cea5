"""What a merchant (or anyone allowed) sees of shipments: lists, state and the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case as sa_case
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from clearance.pipeline.models import ClearanceCase
from kit import outbox
from kit.auth import Principal, Role
from kit.errors import NotFound
from warehouses.models import Merchant, Order, Parcel, Warehouse

# Titles of timeline entries, in Chinese and English; unknown topics show their name.
TITLES: dict[str, tuple[str, str]] = {
    "order.received": ("订单已接收", "Order received"),
    "parcel.matched": ("包裹已扫描入库", "Parcel scanned in and matched"),
    "clearance.declared": ("清单已生成", "Declared (CEB621 built)"),
    "clearance.submitted": ("已提交海关", "Submitted to customs"),
    "clearance.declared_to_eport": ("电子口岸已接收申报", "Declaration received by the E-Port"),
    "clearance.accepted": ("海关已入库", "Accepted by customs (120)"),
    "clearance.manual_review": ("人工审核", "Manual review"),
    "clearance.inspection": ("查验", "Inspection"),
    "clearance.cleared": ("海关审结", "Customs review concluded"),
    "clearance.released": ("放行", "Released"),
    "clearance.shipped": ("已出库", "Shipped"),
    "clearance.closed": ("结关", "Closed"),
    "clearance.rejected": ("海关退单", "Rejected by customs"),
    "clearance.held": ("海关扣留", "Held by customs"),
    "clearance.returned": ("退运", "Returned"),
    "clearance.cancelled": ("已撤销", "Cancelled"),
    "clearance.receipt": ("海关回执", "Customs receipt"),
    "clearance.declaration_invalid": ("申报数据有误", "Declaration failed validation"),
    "clearance.cancel_requested": ("已申请撤单", "Cancellation requested"),
    "clearance.stuck": ("海关回执超时", "No customs receipt for too long"),
    "clearance.transport_retry": ("重新发送报文", "Message resent to customs"),
    "order.corrected": ("订单已更正", "Order corrected"),
    "order.cancelled": ("订单已取消", "Order cancelled"),
    "parcel.scan_undone": ("扫描已撤销", "Scan undone"),
    "label.printed": ("面单已打印", "Label printed"),
    "label.reprinted": ("面单已重打", "Label reprinted"),
    "parcel.shipped": ("已出库", "Shipped"),
    "parcel.gate_out": ("已出库", "Shipped (gate out)"),
}


@dataclass(frozen=True)
class ShipmentFilter:
    state: str | None = None
    warehouse: str | None = None
    order_no: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def find_order(session: Session, order_no: str, principal: Principal) -> Order:
    """The order a caller may see; anyone else's is reported as not found."""
    query = select(Order).where(col(Order.order_no) == order_no)
    query = _scope(query, principal)
    order = session.exec(query.order_by(col(Order.id))).first()
    if order is None:
        raise NotFound("shipment_not_found", f"no shipment for order {order_no}", "order_no")
    return order


def _scope(query: Any, principal: Principal) -> Any:
    """Merchants see their orders, staff and brokers their warehouses, admins everything."""
    if principal.role == Role.merchant:
        return query.where(col(Order.merchant_id) == principal.merchant_id)
    if principal.role in (Role.staff, Role.broker):
        codes = sorted(principal.warehouse_codes)
        mine = sa_select(col(Warehouse.id)).where(col(Warehouse.code).in_(codes))
        return query.where(col(Order.warehouse_id).in_(mine))
    return query


def state_expression() -> Any:
    """The shipment's state: the case's, or matched/received before a case exists."""
    floor = sa_case((col(Parcel.matched_at).is_not(None), "matched"), else_="received")
    return func.coalesce(col(ClearanceCase.state), floor)


def list_shipments(
    session: Session, principal: Principal, where: ShipmentFilter, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """Newest first; `limit + 1` rows so the caller knows whether another page exists."""
    state = state_expression()
    query = (
        sa_select(Order, Parcel, col(Warehouse.code), col(Merchant.code), state)
        .join(Parcel, col(Parcel.order_id) == col(Order.id))
        .join(Warehouse, col(Warehouse.id) == col(Order.warehouse_id))
        .join(Merchant, col(Merchant.id) == col(Order.merchant_id))
        .outerjoin(ClearanceCase, col(ClearanceCase.order_id) == col(Order.id))
    )
    query = _filter(_scope(query, principal), where, state)
    if before is not None:
        query = query.where(col(Order.id) < before)
    rows = session.execute(query.order_by(col(Order.id).desc()).limit(limit + 1)).tuples()
    return [_summary(*row) for row in rows]


def _filter(query: Any, where: ShipmentFilter, state: Any) -> Any:
    if where.state:
        query = query.where(state == where.state)
    if where.warehouse:
        query = query.where(col(Warehouse.code) == where.warehouse)
    if where.order_no:
        query = query.where(col(Order.order_no) == where.order_no)
    if where.created_from:
        query = query.where(col(Order.created_at) >= where.created_from)
    if where.created_to:
        query = query.where(col(Order.created_at) <= where.created_to)
    return query


def _summary(
    order: Order, parcel: Parcel, warehouse: str, merchant: str, state: str
) -> dict[str, Any]:
    return {
        "id": order.id,
        "order_no": order.order_no,
        "merchant": merchant,
        "warehouse": warehouse,
        "state": state,
        "waybill_no": parcel.waybill_no,
        "tracking_no": parcel.tracking_no,
        "created_at": order.created_at,
    }


def shipment_view(session: Session, order: Order, principal: Principal) -> dict[str, Any]:
    """The shipment as one document: order, parcel, clearance and timeline (a merchant's
    timeline without the warehouse's inner workings: see `merchant_entry`)."""
    assert order.id is not None
    parcel = session.exec(select(Parcel).where(col(Parcel.order_id) == order.id)).one()
    case = session.exec(
        select(ClearanceCase).where(col(ClearanceCase.order_id) == order.id)
    ).first()
    warehouse = session.get(Warehouse, order.warehouse_id)
    merchant = session.get(Merchant, order.merchant_id)
    return {
        "order_no": order.order_no,
        "merchant": merchant.code if merchant else None,
        "warehouse": warehouse.code if warehouse else None,
        "state": case.state if case else ("matched" if parcel.matched_at else "received"),
        "waybill_no": parcel.waybill_no,
        "tracking_no": parcel.tracking_no,
        "actural_paid": str(order.actural_paid),
        "created_at": order.created_at,
        "customs": _customs(case),
        "timeline": _timeline(session, order.id, principal),
    }


def _timeline(session: Session, order_id: int, principal: Principal) -> list[dict[str, Any]]:
    entries = [timeline_entry(e) for e in outbox.timeline(session, "order", order_id)]
    if principal.role == Role.merchant:
        return [merchant_entry(entry) for entry in entries]
    return entries


def _customs(case: ClearanceCase | None) -> dict[str, Any] | None:
    if case is None:
        return None
    return {
        "cop_no": case.cop_no,
        "pre_no": case.pre_no,
        "invt_no": case.invt_no,
        "last_status": case.last_status,
        "last_return_time": case.last_return_time,
        "last_return_info": case.last_return_info,
    }


def timeline_entry(event: outbox.Event) -> dict[str, Any]:
    """One line of the timeline; a customs receipt carries its status meaning in zh and en."""
    title_zh, title_en = TITLES.get(event.topic, (event.topic, event.topic))
    payload = event.payload or {}
    return {
        "id": event.id,
        "topic": event.topic,
        "title_zh": title_zh,
        "title_en": title_en,
        "at": event.occurred_at,
        "actor": event.actor,
        "source": event.source,
        "return_status": payload.get("return_status"),
        "meaning_zh": payload.get("meaning_zh"),
        "meaning_en": payload.get("meaning_en"),
        "payload": payload,
    }


# What a merchant may read of an event's facts: the clearance outcome and customs' words, never
# the staff's key labels, scan stations, exchange file names, message guids or free-text notes.
MERCHANT_FACTS = frozenset(
    {
        "from",
        "to",
        "state",
        "order_no",
        "reason",
        "code",
        "message",
        "message_type",
        "return_status",
        "return_time",
        "return_info",
        "meaning_zh",
        "meaning_en",
        "last_status",
        "before",
        "after",
    }
)


def merchant_facts(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key in MERCHANT_FACTS}


def merchant_actor(actor: str) -> str:
    """`staff:dock-key-HZ` becomes `staff`: who acted, by role, not by which key."""
    return actor.split(":", 1)[0]


def merchant_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry as a merchant sees it: the actor's role only, no source, facts only."""
    return {
        **entry,
        "actor": merchant_actor(entry["actor"]),
        "source": None,
        "payload": merchant_facts(entry["payload"]),
    }
