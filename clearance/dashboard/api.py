"""HTTP route of the dashboard for admins and brokers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from clearance.dashboard import service as dashboard
from clearance.dashboard.schemas import DashboardOut
from kit.auth import Principal, Role
from kit.web import SessionDep, require

router = APIRouter(prefix="/api/v1")
Oversight = Annotated[Principal, Depends(require(Role.admin, Role.broker))]


@router.get("/dashboard", tags=["dashboard"], response_model=DashboardOut)
def get_dashboard(session: SessionDep, principal: Oversight) -> dict[str, Any]:
    """Per warehouse: counts by state, throughput per hour, time in customs states, rates,
    and the queues."""
    return dashboard.snapshot(session, principal)
