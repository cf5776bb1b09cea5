"""Turns a shipment into label data for the labels package (which knows nothing of orders)."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from clearance.pipeline.models import ClearanceCase
from declarations.fmt import china_now
from kit.auth import Principal, Role
from kit.errors import NotFound
from labels import LabelData, render_pdf
from warehouses.carriers import carrier_of
from warehouses.models import Merchant, Order, Parcel, Warehouse

# The destination for sorting (大头笔): city and district as the consignee address names them
# (浙江省杭州市西湖区… → 杭州 西湖区). A carrier that assigns sort codes of its own replaces it.
_DESTINATION = re.compile(
    r"^(?:[^省]{1,8}?(?:省|自治区))?"
    r"(?P<city>[^省市]{1,8}?)(?:市|自治州|地区|盟)"
    r"(?P<district>[^省市区县]{1,6}?(?:区|县|市|旗))?"
)
STATUS_MARKS = {
    "released": "已放行 RELEASED",
    "shipped": "已出库 SHIPPED",
    "closed": "已结关 CLOSED",
}


def labels_for_orders(session: Session, orders: list[Order]) -> list[LabelData]:
    """Label data of a batch, in the orders' order, with one query per table (print jobs)."""
    ids = [order.id for order in orders]
    parcels = {
        p.order_id: p for p in session.exec(select(Parcel).where(col(Parcel.order_id).in_(ids)))
    }
    query = select(ClearanceCase).where(col(ClearanceCase.order_id).in_(ids))
    cases = {case.order_id: case for case in session.exec(query)}
    return [_label(session, o, parcels[o.id or 0], cases.get(o.id or 0)) for o in orders]


def label_data(session: Session, order: Order) -> LabelData:
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
    return _label(session, order, parcel, _case(session, order))


def _label(session: Session, order: Order, parcel: Parcel, case: ClearanceCase | None) -> LabelData:
    warehouse = session.get(Warehouse, order.warehouse_id)
    merchant = session.get(Merchant, order.merchant_id)
    assert warehouse is not None and merchant is not None
    state = case.state if case else "received"
    carrier = carrier_of(warehouse.carrier)
    place = destination(order.consignee_address)
    return LabelData(
        waybill_no=parcel.waybill_no,
        qr_payload=f"{parcel.waybill_no}|{order.order_no}",
        consignee_name=order.consignee_name,
        consignee_phone=order.consignee_phone,
        consignee_address=order.consignee_address,
        sender_name=f"{merchant.name} / {warehouse.name_zh}",
        sender_address=warehouse.name,
        return_address=warehouse.return_address,
        order_no=order.order_no,
        weight_kg=parcel.weight_kg or parcel.expected_weight_kg,
        warehouse_code=warehouse.code,
        # The carrier's 三段码 when its settings have one for the destination, else the
        # destination itself (大头笔).
        sort_code=(carrier.sort_code(place) if carrier else None) or place,
        carrier_name=carrier.name if carrier else None,
        print_date=china_now().date(),
        customs_status=STATUS_MARKS.get(state, f"未放行 {state.upper()}"),
        invt_no=case.invt_no if case else None,
    )


def destination(address: str) -> str | None:
    """City and district of a Chinese address for the label's sort field, or None."""
    found = _DESTINATION.match(address.strip())
    if found is None:
        return None
    return " ".join(part for part in (found["city"], found["district"]) if part)


def label_pdf(session: Session, order: Order) -> bytes:
    return render_pdf([label_data(session, order)])


def parcel_label(session: Session, principal: Principal, parcel_id: int) -> LabelData:
    """The label of a parcel the caller may see: staff and brokers their warehouses', a
    merchant its own; anything else is not found."""
    parcel = session.get(Parcel, parcel_id)
    order = session.get(Order, parcel.order_id) if parcel else None
    warehouse = session.get(Warehouse, parcel.warehouse_id) if parcel else None
    if (
        parcel is None
        or order is None
        or warehouse is None
        or not _may_see(principal, order, warehouse)
    ):
        raise NotFound("parcel_not_found", f"no parcel {parcel_id}", "parcel_id")
    return _label(session, order, parcel, _case(session, order))


def _may_see(principal: Principal, order: Order, warehouse: Warehouse) -> bool:
    if principal.role == Role.merchant:
        return order.merchant_id == principal.merchant_id
    return principal.can_act_at(warehouse.code)


def _case(session: Session, order: Order) -> ClearanceCase | None:
    return session.exec(select(ClearanceCase).where(ClearanceCase.order_id == order.id)).first()
