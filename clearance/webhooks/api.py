"""HTTP routes of webhooks: endpoints, their secrets, the delivery log and replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from clearance.webhooks import service as webhooks
from clearance.webhooks.models import WebhookEndpoint
from clearance.webhooks.schemas import (
    AllowPrivateIn,
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecretOut,
    EventTypesOut,
    ReplayIn,
    ReplayOut,
)
from kit.api import Page, PageParams, page_of, page_params
from kit.auth import Principal, Role
from kit.web import Admin, SessionDep, require

router = APIRouter(prefix="/api/v1")
Merchantish = Annotated[Principal, Depends(require(Role.merchant, Role.admin))]
Paging = Annotated[PageParams, Depends(page_params)]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]


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
