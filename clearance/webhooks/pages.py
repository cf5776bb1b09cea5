"""The merchant's webhooks page: endpoints, their health, recent deliveries, replay, re-enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clearance.pages import page as _page
from clearance.webhooks import service as webhooks
from kit.auth import Principal, Role
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
Subscriber = Annotated[Principal, Depends(require_page(Role.merchant, Role.admin))]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RECENT = 10


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
