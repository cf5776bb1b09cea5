"""Turns a shipment into label data for the labels package (which knows nothing of orders)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from clearance.models import ClearanceCase
from labels import LabelData, render_pdf
from warehouses.models import Merchant, Order, Parcel, Warehouse

STATUS_MARKS = {
    "released": "已放行 RELEASED",
    "shipped": "已出库 SHIPPED",
    "closed": "已结关 CLOSED",
}


def label_data(session: Session, order: Order) -> LabelData:
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
    case = session.exec(select(ClearanceCase).where(ClearanceCase.order_id == order.id)).first()
    warehouse = session.get(Warehouse, order.warehouse_id)
    merchant = session.get(Merchant, order.merchant_id)
    assert warehouse is not None and merchant is not None
    state = case.state if case else "received"
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
        print_date=date.today(),
        customs_status=STATUS_MARKS.get(state, f"未放行 {state.upper()}"),
        invt_no=case.invt_no if case else None,
    )


def label_pdf(session: Session, order: Order) -> bytes:
    return render_pdf([label_data(session, order)])
