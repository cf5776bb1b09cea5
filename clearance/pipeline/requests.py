"""Requests to customs about a declaration it already holds: withdraw it (CEB623) or take back a
released parcel (CEB625). Each is built, checked against the XSD, and queued for the gateway."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from clearance.pipeline.declare import DeclarationInvalid, build_inventory, new_guid, transfer_for
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from declarations.build import build_checked
from declarations.fmt import china_now
from declarations.model import Cancel623, Inventory, Refund625, RefundLine625
from kit import outbox
from kit import queue as jobs
from kit.errors import Conflict
from warehouses.models import Warehouse

SEND = "clearance.pipeline.jobs.send_pending"
RETURNABLE = ("released", "shipped")


def _parties(inv: Inventory, invt_no: str) -> dict[str, Any]:
    names = "customs_code order_no ebp_code ebp_name ebc_code ebc_name logistics_no "
    names += "logistics_code logistics_name cop_no pre_no buyer_id_number buyer_name "
    names += "buyer_telephone agent_code agent_name"
    return {"invt_no": invt_no, **{name: getattr(inv, name) for name in names.split()}}


def _numbered(case: ClearanceCase) -> str:
    if not case.invt_no:
        raise Conflict(
            "not_numbered_yet",
            "customs has not numbered this inventory yet (no invtNo before receipt 120)",
            field="invt_no",
        )
    return case.invt_no


def _queue(
    session: Session, case: ClearanceCase, doc: Cancel623 | Refund625, kind: str, actor: str
) -> CustomsMessage:
    warehouse = session.get(Warehouse, case.warehouse_id)
    assert warehouse is not None and case.id is not None
    checked = build_checked(doc, transfer_for(warehouse))
    if not checked.ok:
        first = checked.findings[0]
        raise DeclarationInvalid(
            "request_invalid", f"{kind}: {first.path} {first.rule}", field=first.path
        )
    message = CustomsMessage(
        case_id=case.id, message_type=kind, guid=doc.guid, xml=checked.data.decode()
    )
    session.add(message)
    session.flush()
    topic = "clearance.cancel_requested" if kind == "CEB623" else "clearance.return_requested"
    payload = {"message_type": kind, "guid": doc.guid, "reason": doc.reason, "state": case.state}
    outbox.record(session, topic, ("order", case.order_id), actor=actor, payload=payload)
    jobs.enqueue_after_commit(session, "submit", SEND, [case.id])
    return message


def request_withdrawal(
    session: Session, case: ClearanceCase, *, reason: str, actor: str
) -> CustomsMessage:
    """CEB623: ask customs to withdraw an inventory it accepted (the case stays until 624)."""
    inv = build_inventory(session, case)
    cancel = Cancel623(
        guid=new_guid(), app_time=china_now(), reason=reason, **_parties(inv, _numbered(case))
    )
    return _queue(session, case, cancel, "CEB623", actor)


def request_return(
    session: Session, case: ClearanceCase, *, reason: str, actor: str
) -> CustomsMessage:
    """CEB625: return every line of a released inventory (the case becomes returned on 626)."""
    if case.state not in RETURNABLE:
        raise Conflict("not_released", f"only a released parcel is returned; it is {case.state}")
    inv = build_inventory(session, case)
    lines = tuple(
        RefundLine625(gnum=ln.gnum, gcode=ln.gcode, gname=ln.gname, qty=ln.qty, unit=ln.unit)
        for ln in inv.lines
    )
    refund = Refund625(
        guid=new_guid(),
        app_time=china_now(),
        reason=reason,
        lines=lines,
        **_parties(inv, _numbered(case)),
    )
    return _queue(session, case, refund, "CEB625", actor)
