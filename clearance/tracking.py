"""What a merchant (or anyone allowed) sees of a shipment: its state and its timeline."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from clearance.models import ClearanceCase
from kit import outbox
from kit.auth import Principal, Role
from kit.errors import NotFound
from warehouses.models import Merchant, Order, Parcel, Warehouse


def find_order(session: Session, order_no: str, principal: Principal) -> Order:
    """The order a caller may see; anyone else's is reported as not found."""
    query = select(Order).where(Order.order_no == order_no)
    if principal.role == Role.merchant:
        query = query.where(Order.merchant_id == principal.merchant_id)
    order = session.exec(query).first()
    if order is None or not _may_see(session, order, principal):
        raise NotFound("shipment_not_found", f"no shipment for order {order_no}", "order_no")
    return order


def _may_see(session: Session, order: Order, principal: Principal) -> bool:
    if principal.role in (Role.staff, Role.broker):
        warehouse = session.get(Warehouse, order.warehouse_id)
        return warehouse is not None and principal.can_act_at(warehouse.code)
    return True


def shipment_view(session: Session, order: Order) -> dict[str, Any]:
    """The shipment as one document: order, parcel, clearance and timeline."""
    assert order.id is not None
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
    case = session.exec(select(ClearanceCase).where(ClearanceCase.order_id == order.id)).first()
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
        "customs": _customs(case),
        "timeline": [_event(e) for e in outbox.timeline(session, "order", order.id)],
    }


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


def _event(event: outbox.Event) -> dict[str, Any]:
    return {
        "topic": event.topic,
        "at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "source": event.source,
        "payload": event.payload,
    }
