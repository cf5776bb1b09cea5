"""Floor pages: the warehouse's counts, the scan station (inbound and gate), the exception queue.

Pages need a logged-in session (kit's /login, with a staff API key or a user); every action goes
through the API with that session and its CSRF token, so the server decides who may act where.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from kit.auth import Principal, Role
from kit.errors import NotFound
from kit.i18n import N_
from kit.pages import templates
from kit.web import SessionDep, require_page
from warehouses.floor.station import floor_summary
from warehouses.models import Warehouse

router = APIRouter(include_in_schema=False)
REASONS = ("unknown", "ambiguous", "wrong_warehouse", "overweight", "underweight", "cancelled")
REASON_LABELS = {
    "unknown": N_("unknown"),
    "ambiguous": N_("ambiguous code"),
    "wrong_warehouse": N_("wrong warehouse"),
    "overweight": N_("overweight"),
    "underweight": N_("underweight"),
    "cancelled": N_("cancelled"),
}
FloorPage = Annotated[Principal, Depends(require_page(Role.staff, Role.admin))]
STATION_NAME = r"^[\w.-]+$"
Station = Annotated[str, Query(min_length=1, max_length=40, pattern=STATION_NAME)]
# A station named in the path survives the trip through the login page (the query does not).
NamedStation = Annotated[str, Path(min_length=1, max_length=40, pattern=STATION_NAME)]


def _warehouse(session: Session, code: str, principal: Principal) -> Warehouse:
    principal.require_warehouse(code)
    warehouse = session.exec(select(Warehouse).where(col(Warehouse.code) == code)).first()
    if warehouse is None:
        raise NotFound("warehouse_not_found", f"no warehouse {code}", field="code")
    return warehouse


def _page(request: Request, name: str, principal: Principal, **context: Any) -> HTMLResponse:
    context |= {"principal": principal, "csrf_token": getattr(request.state, "csrf_token", "")}
    context["reason_labels"] = REASON_LABELS
    return templates.TemplateResponse(request, name, context)


@router.get("/floor/{code}", response_class=HTMLResponse)
def warehouse_page(
    request: Request, code: str, session: SessionDep, principal: FloorPage
) -> HTMLResponse:
    warehouse = _warehouse(session, code, principal)
    summary = floor_summary(session, code)
    return _page(
        request, "warehouse.html", principal, warehouse=warehouse, summary=summary, reasons=REASONS
    )


@router.get("/floor/{code}/scan", response_class=HTMLResponse)
def scan_page(
    request: Request,
    code: str,
    session: SessionDep,
    principal: FloorPage,
    station: Station = "station-1",
) -> HTMLResponse:
    warehouse = _warehouse(session, code, principal)
    return _page(
        request, "scan.html", principal, warehouse=warehouse, station=station, mode="inbound"
    )


@router.get("/floor/{code}/gate", response_class=HTMLResponse)
def gate_page(
    request: Request,
    code: str,
    session: SessionDep,
    principal: FloorPage,
    station: Station = "gate-1",
) -> HTMLResponse:
    warehouse = _warehouse(session, code, principal)
    return _page(
        request, "scan.html", principal, warehouse=warehouse, station=station, mode="gate_out"
    )


@router.get("/floor/{code}/scan/{station}", response_class=HTMLResponse)
def named_scan_page(
    request: Request, code: str, station: NamedStation, session: SessionDep, principal: FloorPage
) -> HTMLResponse:
    return scan_page(request, code, session, principal, station)


@router.get("/floor/{code}/gate/{station}", response_class=HTMLResponse)
def named_gate_page(
    request: Request, code: str, station: NamedStation, session: SessionDep, principal: FloorPage
) -> HTMLResponse:
    return gate_page(request, code, session, principal, station)


@router.get("/floor/{code}/exceptions", response_class=HTMLResponse)
def exceptions_page(
    request: Request, code: str, session: SessionDep, principal: FloorPage
) -> HTMLResponse:
    warehouse = _warehouse(session, code, principal)
    return _page(
        request, "warehouse_exceptions.html", principal, warehouse=warehouse, reasons=REASONS
    )
