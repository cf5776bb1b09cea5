"""HTTP routes of shipments, webhooks and the dashboard (translate HTTP into service calls)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response
from pydantic import AwareDatetime

from clearance.api_models import (
    AllowPrivateIn,
    AttemptOut,
    DashboardOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecretOut,
    EventTypesOut,
    ReplayIn,
    ReplayOut,
    ShipmentOut,
    ShipmentSummary,
)
from clearance.dashboard import service as dashboard
from clearance.printing.labeling import label_pdf
from clearance.tracking.service import ShipmentFilter, find_order, list_shipments, shipment_view
from clearance.webhooks import service as webhooks
from clearance.webhooks.models import WebhookEndpoint
from kit.api import Page, PageParams, page_of, page_params
from kit.auth import Principal, Role
from kit.web import Admin, AnyRole, SessionDep, require

router = APIRouter(prefix="/api/v1")
Merchantish = Annotated[Principal, Depends(require(Role.merchant, Role.admin))]
Oversight = Annotated[Principal, Depends(require(Role.admin, Role.broker))]
Paging = Annotated[PageParams, Depends(page_params)]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
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
    return shipment_view(session, find_order(session, order_no, principal))


@router.get(
    "/shipments/{order_no}/label.pdf",
    tags=["shipments"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The label"}},
)
def get_label(order_no: OrderNo, session: SessionDep, principal: AnyRole) -> Response:
    """The 100×150 mm parcel label as PDF (Code128 waybill, QR, consignee in Chinese)."""
    pdf = label_pdf(session, find_order(session, order_no, principal))
    headers = {"Content-Disposition": f'inline; filename="{order_no}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    data = endpoint.model_dump()
    data["event_types"] = endpoint.event_types.split(",")
    return EndpointOut.model_validate(data)


def _with_secret(endpoint: WebhookEndpoint) -> EndpointSecretOut:
    data = _endpoint_out(endpoint).model_dump()
    return EndpointSecretOut(**data, secret=endpoint.secret)


@router.get(
    "/webhooks/event-types",
    tags=["webhooks"],
    response_model=EventTypesOut,
    dependencies=[Depends(require(Role.merchant, Role.admin))],
)
def get_event_types() -> EventTypesOut:
    """Event types an endpoint may subscribe to (`*` and `prefix.*` patterns work too)."""
    return EventTypesOut(event_types=list(webhooks.EVENT_TYPES))


@router.post(
    "/webhooks/endpoints",
    tags=["webhooks"],
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointSecretOut,
)
def post_endpoint(data: EndpointIn, session: SessionDep, principal: Merchantish) -> Any:
    """Subscribe a URL; the signing secret is in the answer (and at …/secret later)."""
    endpoint = webhooks.create_endpoint(
        session,
        principal,
        url=data.url,
        event_types=data.event_types,
        description=data.description,
        merchant_code=data.merchant,
        private_ok=data.allow_private,
    )
    return _with_secret(endpoint)


@router.get("/webhooks/endpoints", tags=["webhooks"], response_model=Page[EndpointOut])
def get_endpoints(session: SessionDep, principal: Merchantish, paging: Paging) -> Any:
    """The caller's endpoints, newest first."""
    rows = webhooks.list_endpoints(session, principal, paging.limit, paging.cursor)
    return page_of([_endpoint_out(e) for e in rows], [e.id or 0 for e in rows], paging)


@router.get("/webhooks/endpoints/{endpoint_id}", tags=["webhooks"], response_model=EndpointOut)
def get_endpoint(endpoint_id: EndpointId, session: SessionDep, principal: Merchantish) -> Any:
    """One endpoint with its health: disabled endpoints say why."""
    return _endpoint_out(webhooks.get_endpoint(session, principal, endpoint_id))


@router.patch("/webhooks/endpoints/{endpoint_id}", tags=["webhooks"], response_model=EndpointOut)
def patch_endpoint(
    endpoint_id: EndpointId, data: EndpointPatch, session: SessionDep, principal: Merchantish
) -> Any:
    """Change the URL, event types or description; `enabled: true` re-enables after a fix."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    changes = data.model_dump(exclude_unset=True)
    return _endpoint_out(webhooks.update_endpoint(session, endpoint, **changes))


@router.get(
    "/webhooks/endpoints/{endpoint_id}/secret", tags=["webhooks"], response_model=EndpointSecretOut
)
def get_secret(endpoint_id: EndpointId, session: SessionDep, principal: Merchantish) -> Any:
    """The current signing secret."""
    return _with_secret(webhooks.get_endpoint(session, principal, endpoint_id))


@router.post(
    "/webhooks/endpoints/{endpoint_id}/rotate-secret",
    tags=["webhooks"],
    response_model=EndpointSecretOut,
)
def post_rotate(endpoint_id: EndpointId, session: SessionDep, principal: Merchantish) -> Any:
    """A new secret; for 24 h every delivery carries a signature with the old one as well."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    return _with_secret(webhooks.rotate_secret(session, endpoint))


@router.post(
    "/webhooks/endpoints/{endpoint_id}/allow-private",
    tags=["webhooks"],
    response_model=EndpointOut,
)
def post_allow_private(
    endpoint_id: EndpointId, data: AllowPrivateIn, session: SessionDep, principal: Admin
) -> Any:
    """Admins only: let an endpoint reach loopback or private addresses (on-premise receivers)."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    return _endpoint_out(webhooks.allow_private(session, endpoint, data.allow))


@router.get(
    "/webhooks/endpoints/{endpoint_id}/deliveries",
    tags=["webhooks"],
    response_model=Page[DeliveryOut],
)
def get_deliveries(
    endpoint_id: EndpointId, session: SessionDep, principal: Merchantish, paging: Paging
) -> Any:
    """The delivery log, newest first, each with every attempt (status, latency, response)."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    rows = webhooks.deliveries(session, endpoint, paging.limit, paging.cursor)
    log = webhooks.attempts_of(session, [d.id for d in rows if d.id is not None])
    items = [
        DeliveryOut(
            **row.model_dump(),
            attempt_log=[
                AttemptOut.model_validate(a.model_dump()) for a in log.get(row.id or 0, [])
            ],
        )
        for row in rows
    ]
    return page_of(items, [row.id or 0 for row in rows], paging)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/replay",
    tags=["webhooks"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayOut,
)
def post_replay(
    endpoint_id: EndpointId, data: ReplayIn, session: SessionDep, principal: Merchantish
) -> ReplayOut:
    """Send one event, or every subscribed event in a time range, again (health unaffected)."""
    endpoint = webhooks.get_endpoint(session, principal, endpoint_id)
    made = webhooks.replay(
        session, endpoint, event_id=data.event_id, since=data.since, until=data.until
    )
    return ReplayOut(deliveries=len(made))


@router.get("/dashboard", tags=["dashboard"], response_model=DashboardOut)
def get_dashboard(session: SessionDep, principal: Oversight) -> dict[str, Any]:
    """Per warehouse: counts by state, throughput per hour, time in customs states, rates,
    and the queues."""
    return dashboard.snapshot(session, principal)
