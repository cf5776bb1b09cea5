"""HTTP routes of shipments: the caller's list, one shipment's timeline, its label as PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from clearance.printing.labeling import label_pdf
from clearance.tracking.schemas import ShipmentOut, ShipmentSummary
from clearance.tracking.service import ShipmentFilter, find_order, list_shipments, shipment_view
from kit.api import Page, PageParams, page_of, page_params
from kit.web import AnyRole, SessionDep, content_disposition

router = APIRouter(prefix="/api/v1")
Paging = Annotated[PageParams, Depends(page_params)]
OrderNo = Annotated[str, Path(min_length=1, max_length=60)]


@router.get("/shipments", tags=["shipments"], response_model=Page[ShipmentSummary])
def get_shipments(
    session: SessionDep,
    principal: AnyRole,
    paging: Paging,
    state: Annotated[str | None, Query(max_length=24, examples=["released"])] = None,
    warehouse: Annotated[str | None, Query(max_length=8, examples=["HZ"])] = None,
    order_no: Annotated[str | None, Query(max_length=60)] = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
) -> Page[ShipmentSummary]:
    """Shipments the caller may see, newest first, filtered by state, warehouse, date, order."""
    where = ShipmentFilter(state, warehouse, order_no, created_from, created_to)
    rows = list_shipments(session, principal, where, paging.limit, paging.cursor)
    items = [ShipmentSummary.model_validate(row) for row in rows]
    return page_of(items, [row["id"] for row in rows], paging)


@router.get("/shipments/{order_no}", tags=["shipments"], response_model=ShipmentOut)
def get_shipment(order_no: OrderNo, session: SessionDep, principal: AnyRole) -> dict[str, Any]:
    """One shipment: its clearance state, customs keys and the timeline of every event."""
    return shipment_view(session, find_order(session, order_no, principal), principal)


@router.get(
    "/shipments/{order_no}/label.pdf",
    tags=["shipments"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The label"}},
)
def get_label(order_no: OrderNo, session: SessionDep, principal: AnyRole) -> Response:
    """The 100×150 mm parcel label as PDF (Code128 waybill, QR, consignee in Chinese)."""
    pdf = label_pdf(session, find_order(session, order_no, principal))
    headers = {"Content-Disposition": content_disposition(f"{order_no}.pdf")}
    return Response(pdf, media_type="application/pdf", headers=headers)
