"""HTTP routes of shipments: state, timeline and label (translate HTTP into service calls)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from clearance.labeling import label_pdf
from clearance.tracking import find_order, shipment_view
from kit.web import PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["shipments"])


@router.get("/shipments/{order_no}")
def get_shipment(order_no: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """One shipment: its clearance state, customs keys and the timeline of every event."""
    return shipment_view(session, find_order(session, order_no, principal))


@router.get("/shipments/{order_no}/label.pdf", response_class=Response)
def get_label(order_no: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """The 100×150 mm parcel label as PDF (Code128 waybill, QR, consignee in Chinese)."""
    pdf = label_pdf(session, find_order(session, order_no, principal))
    headers = {"Content-Disposition": f'inline; filename="{order_no}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
