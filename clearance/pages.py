"""Pages for merchants (tracking, updating live) and for admins and brokers (the dashboard)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clearance.dashboard import service as dashboard
from clearance.dashboard.overview import STATES
from clearance.tracking.service import ShipmentFilter, find_order, list_shipments, shipment_view
from clearance.webhooks import service as webhooks
from kit.api import PageParams, page_params
from kit.auth import Principal, Role
from kit.pages import templates
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[
    Principal, Depends(require_page(Role.merchant, Role.admin, Role.broker, Role.staff))
]
Oversight = Annotated[Principal, Depends(require_page(Role.admin, Role.broker))]
Subscriber = Annotated[Principal, Depends(require_page(Role.merchant, Role.admin))]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RECENT = 10


def _page(request: Request, name: str, principal: Principal, **context: Any) -> HTMLResponse:
    context |= {"principal": principal, "csrf_token": getattr(request.state, "csrf_token", "")}
    return templates.TemplateResponse(request, name, context)


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
    shipment = shipment_view(session, find_order(session, order_no, principal))
    return _page(request, "track_shipment.html", principal, shipment=shipment)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: SessionDep, principal: Oversight) -> HTMLResponse:
    """Per warehouse: states, throughput, time in customs statuses, rates and queues."""
    return _page(
        request,
        "dashboard.html",
        principal,
        data=dashboard.snapshot(session, principal),
        states=STATES,
    )


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, session: SessionDep, principal: Subscriber) -> HTMLResponse:
    """The merchant's endpoints, their health and latest deliveries, with replay buttons."""
    endpoints = webhooks.list_endpoints(session, principal, 50, None)
    recent = {e.id: webhooks.deliveries(session, e, RECENT, None)[:RECENT] for e in endpoints}
    return _page(request, "webhooks.html", principal, endpoints=endpoints, recent=recent)


@router.post("/webhooks/{endpoint_id}/replay")
def webhooks_replay(
    endpoint_id: EndpointId,
    event_id: Annotated[int, Form(ge=1, le=2**62)],
    session: SessionDep,
    principal: Subscriber,
) -> RedirectResponse:
    """Send one event again (the form carries the session's CSRF token)."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    webhooks.replay(session, endpoint, event_id=event_id)
    return RedirectResponse("/webhooks", status_code=303)


@router.post("/webhooks/{endpoint_id}/enable")
def webhooks_enable(
    endpoint_id: EndpointId, session: SessionDep, principal: Subscriber
) -> RedirectResponse:
    """Re-enable an endpoint after fixing it."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    webhooks.update_endpoint(session, endpoint, enabled=True)
    return RedirectResponse("/webhooks", status_code=303)
