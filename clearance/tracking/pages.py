"""Tracking pages for merchants, staff and brokers: the shipment list and a live timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from clearance.dashboard.overview import STATES
from clearance.pages import page as _page
from clearance.tracking.service import ShipmentFilter, find_order, list_shipments, shipment_view
from clearance.webhooks import service as webhooks
from kit.api import PageParams, page_params
from kit.auth import Principal, Role
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[
    Principal, Depends(require_page(Role.merchant, Role.admin, Role.broker, Role.staff))
]


@router.get("/track", response_class=HTMLResponse)
def track_list(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    paging: Annotated[PageParams, Depends(page_params)],
    state: Annotated[str | None, Query(max_length=24)] = None,
    order_no: Annotated[str | None, Query(max_length=60)] = None,
    warehouse: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """The caller's shipments, filtered by state, order number or warehouse."""
    where = ShipmentFilter(state or None, warehouse or None, (order_no or "").strip() or None)
    rows = list_shipments(session, principal, where, paging.limit, paging.cursor)
    more = len(rows) > paging.limit
    shown = rows[: paging.limit]
    next_cursor = str(shown[-1]["id"]) if more and shown else None
    return _page(
        request,
        "track.html",
        principal,
        rows=shown,
        states=STATES,
        where=where,
        next_cursor=next_cursor,
        disabled=webhooks.disabled_endpoints(session, principal),
    )


@router.get("/track/{order_no}", response_class=HTMLResponse)
def track_shipment(
    request: Request, order_no: str, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """One shipment's timeline; the page polls the API and redraws as receipts arrive."""
    shipment = shipment_view(session, find_order(session, order_no, principal), principal)
    return _page(request, "track_shipment.html", principal, shipment=shipment)
