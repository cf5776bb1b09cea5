"""Pages of the broker's workspace; their buttons call the broker API (clearance.broker.api)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from clearance.broker.unmatched import unmatched_receipts
from clearance.broker.workspace import (
    DeclarationFilter,
    declaration_view,
    exceptions,
    find_case,
    list_declarations,
    state_counts,
    visible_warehouses,
)
from clearance.dashboard.overview import STATES
from clearance.pipeline.taxbills import guarantee_balances
from kit.auth import Principal, Role
from kit.pages import templates
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
BrokerPage = Annotated[Principal, Depends(require_page(Role.broker, Role.admin))]
WORKSPACE_STATES = (*STATES, "manual_review", "inspection", "held", "returned", "cancelled")


def _page(request: Request, name: str, principal: Principal, **context: Any) -> HTMLResponse:
    context |= {"principal": principal, "csrf_token": getattr(request.state, "csrf_token", "")}
    return templates.TemplateResponse(request, name, context)


@router.get("/broker", response_class=HTMLResponse)
def broker_list(
    request: Request,
    session: SessionDep,
    principal: BrokerPage,
    warehouse: Annotated[str | None, Query(max_length=8)] = None,
    state: Annotated[str | None, Query(max_length=24)] = None,
    q: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    """Declarations per warehouse by state, with filters and batch submission."""
    where = DeclarationFilter(warehouse or None, state or None, (q or "").strip() or None)
    return _page(
        request,
        "broker.html",
        principal,
        rows=list_declarations(session, principal, where),
        where=where,
        states=WORKSPACE_STATES,
        warehouses=sorted(visible_warehouses(session, principal).values()),
        counts=state_counts(session, principal),
    )


@router.get("/broker/exceptions", response_class=HTMLResponse)
def broker_exceptions(request: Request, session: SessionDep, principal: BrokerPage) -> HTMLResponse:
    """Cases needing a person, by receipt class, with time in status."""
    return _page(
        request,
        "broker_exceptions.html",
        principal,
        groups=exceptions(session, principal),
        guarantees=guarantee_balances(session),
    )


@router.get("/broker/declarations/{cop_no}", response_class=HTMLResponse)
def broker_declaration(
    request: Request, cop_no: str, session: SessionDep, principal: BrokerPage
) -> HTMLResponse:
    """One declaration: reason, order data to correct, messages, receipts, timeline, actions."""
    view = declaration_view(session, find_case(session, principal, cop_no))
    return _page(request, "broker_declaration.html", principal, d=view)


@router.get("/broker/receipts", response_class=HTMLResponse)
def broker_unmatched(request: Request, session: SessionDep, principal: BrokerPage) -> HTMLResponse:
    """Receipts that matched no declaration, to look into and mark handled."""
    rows = unmatched_receipts(session, principal)
    return _page(request, "broker_receipts.html", principal, rows=rows)
