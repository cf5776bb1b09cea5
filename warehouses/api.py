"""HTTP routes of the floor: order intake and scans (translate HTTP into service calls only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlmodel import Session, select

from kit.auth import Principal, Role
from kit.web import SessionDep, require
from warehouses.intake import create_order
from warehouses.models import Order, Parcel
from warehouses.scanning import scan_inbound
from warehouses.schemas import OrderIn, OrderOut, ScanIn, ScanOut

router = APIRouter(prefix="/api/v1", tags=["floor"])
MerchantOrAdmin = Annotated[Principal, Depends(require(Role.merchant, Role.admin))]
Floor = Annotated[Principal, Depends(require(Role.staff, Role.admin))]


def order_out(session: Session, order: Order, merchant: str, warehouse: str) -> OrderOut:
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
    return OrderOut(
        id=order.id or 0,
        order_no=order.order_no,
        merchant=merchant,
        warehouse=warehouse,
        goods_value=order.goods_value,
        freight=order.freight,
        discount=order.discount,
        tax_total=order.tax_total,
        actural_paid=order.actural_paid,
        tracking_no=parcel.tracking_no,
        waybill_no=parcel.waybill_no,
        status=order.status,
    )


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
def post_order(data: OrderIn, session: SessionDep, principal: MerchantOrAdmin) -> OrderOut:
    """Take one order: every CBEC rule is checked; a refused order stores nothing."""
    order = create_order(session, data, principal)
    return order_out(session, order, data.merchant, data.warehouse)


@router.post("/scans", response_model=ScanOut)
def post_scan(data: ScanIn, session: SessionDep, principal: Floor) -> ScanOut:
    """Judge one inbound scan: matched, duplicate, unknown, wrong warehouse, weight, hold."""
    return scan_inbound(session, data, principal)
