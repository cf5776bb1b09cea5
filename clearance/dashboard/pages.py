"""The dashboard page for admins and brokers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from clearance.dashboard import service as dashboard
from clearance.dashboard.overview import STATES
from clearance.pages import page as _page
from kit.auth import Principal, Role
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
Oversight = Annotated[Principal, Depends(require_page(Role.admin, Role.broker))]


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
