"""HTTP routes of the broker's workspace (API): list, inspect and act on declarations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from clearance.broker import actions, unmatched
from clearance.broker.workspace import (
    DeclarationFilter,
    cases_by_cop_no,
    declaration_view,
    exceptions,
    find_case,
    list_declarations,
)
from kit.auth import Principal, Role
from kit.web import SessionDep, require

router = APIRouter(prefix="/api/v1/broker", tags=["broker"])
Broker = Annotated[Principal, Depends(require(Role.broker, Role.admin))]


class Correction(BaseModel):
    """Order fields to correct after a rejection (only these may change here)."""

    buyer_id_number: str | None = Field(default=None, max_length=18)
    buyer_name: str | None = Field(default=None, max_length=60)
    buyer_phone: str | None = Field(default=None, max_length=30)
    consignee_name: str | None = Field(default=None, max_length=100)
    consignee_phone: str | None = Field(default=None, max_length=50)
    consignee_address: str | None = Field(default=None, max_length=200)


class Batch(BaseModel):
    cop_nos: list[str] = Field(min_length=1, max_length=500)


@router.get("/declarations")
def get_declarations(
    session: SessionDep,
    principal: Broker,
    warehouse: Annotated[str | None, Query(max_length=8)] = None,
    state: Annotated[str | None, Query(max_length=24)] = None,
    q: Annotated[str | None, Query(max_length=60)] = None,
) -> list[dict[str, Any]]:
    """Declarations of the caller's warehouses, longest-waiting first."""
    return list_declarations(session, principal, DeclarationFilter(warehouse, state, q))


@router.get("/declarations/{cop_no}")
def get_declaration(cop_no: str, session: SessionDep, principal: Broker) -> dict[str, Any]:
    """One declaration: messages (XML), pre-flight findings, receipts with meaning, timeline."""
    return declaration_view(session, find_case(session, principal, cop_no))


@router.get("/exceptions")
def get_exceptions(session: SessionDep, principal: Broker) -> list[dict[str, Any]]:
    """Cases needing a person, by receipt class (100, 300, 500, 5xx, 700), stuck, failed."""
    return exceptions(session, principal)


@router.post("/declarations/{cop_no}/correct")
def correct(
    cop_no: str, body: Correction, session: SessionDep, principal: Broker
) -> dict[str, Any]:
    """Correct the order data of a rejected declaration (then resubmit it)."""
    case = find_case(session, principal, cop_no)
    changes = body.model_dump(exclude_none=True)
    actions.correct_order(session, case, changes, actor=principal.actor)
    return declaration_view(session, case)


@router.post("/declarations/{cop_no}/resubmit")
def resubmit(cop_no: str, session: SessionDep, principal: Broker) -> dict[str, Any]:
    """Send a corrected CEB621 (appType 2) for a rejected declaration."""
    case = find_case(session, principal, cop_no)
    message = actions.resubmit(session, case, actor=principal.actor)
    return {"cop_no": cop_no, "state": case.state, "guid": message.guid, "app_type": "2"}


@router.post("/declarations/{cop_no}/cancel")
def cancel(
    cop_no: str, session: SessionDep, principal: Broker, body: Reason | None = None
) -> dict[str, Any]:
    """Cancel: withdrawn at once before customs accepted it, otherwise by CEB623."""
    case = find_case(session, principal, cop_no)
    reason = body.reason if body and body.reason else actions.CANCEL_REASON
    result = actions.request_cancel(
        session, case, actor=principal.actor, source="broker", reason=reason
    )
    return {"cop_no": cop_no, "state": case.state, "result": result}


class Reason(BaseModel):
    reason: str | None = Field(default=None, min_length=2, max_length=500)


@router.post("/declarations/{cop_no}/return")
def request_return(
    cop_no: str, session: SessionDep, principal: Broker, body: Reason | None = None
) -> dict[str, Any]:
    """Ask customs to take back a released parcel (CEB625, all lines)."""
    case = find_case(session, principal, cop_no)
    reason = body.reason if body and body.reason else actions.RETURN_REASON
    result = actions.request_customs_return(session, case, actor=principal.actor, reason=reason)
    return {"cop_no": cop_no, "state": case.state, "result": result}


@router.post("/declarations/{cop_no}/retry")
def retry(cop_no: str, session: SessionDep, principal: Broker) -> dict[str, Any]:
    """Send again the messages whose transport failed."""
    case = find_case(session, principal, cop_no)
    count = actions.retry_transport(session, case, actor=principal.actor)
    return {"cop_no": cop_no, "retried": count}


@router.post("/submit")
def submit(body: Batch, session: SessionDep, principal: Broker) -> dict[str, Any]:
    """Submit a batch of declared declarations now."""
    cases = cases_by_cop_no(session, principal, body.cop_nos)
    taken = actions.submit_batch(session, cases)
    return {"submitted": [c.cop_no for c in cases if c.id in taken]}


@router.get("/receipts/unmatched")
def get_unmatched(session: SessionDep, principal: Broker) -> list[dict[str, Any]]:
    """Receipts that matched no declaration and wait for a broker, newest first."""
    return unmatched.unmatched_receipts(session, principal)


@router.post("/receipts/{receipt_id}/handled")
def handled(receipt_id: int, session: SessionDep, principal: Broker) -> dict[str, Any]:
    """Mark an unmatched receipt handled: it leaves the list and the dashboard count."""
    return unmatched.mark_handled(session, principal, receipt_id)
