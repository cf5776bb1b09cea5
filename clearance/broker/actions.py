"""What a broker does to a declaration: fix its order data, resubmit, cancel, retry transport."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from clearance.pipeline.cases import move
from clearance.pipeline.declare import build_message
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from clearance.pipeline.requests import request_return, request_withdrawal
from declarations.rules import id_number_problem
from kit import outbox
from kit import queue as jobs
from kit.errors import Conflict, FieldIssue, ValidationFailed
from warehouses.models import Order

SEND = "clearance.pipeline.jobs.send_pending"
# Order fields a broker may correct after a rejection; amounts and SKUs go through intake again.
CORRECTABLE = {
    "buyer_id_number": 18,
    "buyer_name": 60,
    "buyer_phone": 30,
    "consignee_name": 100,
    "consignee_phone": 50,
    "consignee_address": 200,
}
WITHDRAWABLE = ("matched", "declared", "rejected")
FINAL = ("cancelled", "shipped", "closed", "returned")
CANCEL_REASON = "交易订单取消,买家申请退款"
RETURN_REASON = "买家七天无理由退货"


def correct_order(
    session: Session, case: ClearanceCase, changes: dict[str, str], *, actor: str
) -> Order:
    """Correct the order data of a rejected declaration before it is resubmitted."""
    if case.state != "rejected":
        raise Conflict(
            "not_rejected", f"only a rejected declaration is corrected; it is {case.state}"
        )
    _check_changes(changes)
    order = session.get(Order, case.order_id)
    assert order is not None
    before = {name: getattr(order, name) for name in changes}
    for name, value in changes.items():
        setattr(order, name, value.strip())
    session.add(order)
    payload = {"before": before, "after": {k: v.strip() for k, v in changes.items()}}
    outbox.record(
        session, "order.corrected", ("order", case.order_id), actor=actor, payload=payload
    )
    return order


def _check_changes(changes: dict[str, str]) -> None:
    issues = [
        FieldIssue(name, "not_correctable", "this field is not corrected here")
        for name in changes
        if name not in CORRECTABLE
    ]
    issues += [
        FieldIssue(name, "length", f"1 to {CORRECTABLE[name]} characters")
        for name, value in changes.items()
        if name in CORRECTABLE and not 0 < len(value.strip()) <= CORRECTABLE[name]
    ]
    why = id_number_problem(changes["buyer_id_number"]) if "buyer_id_number" in changes else None
    if why:
        issues.append(FieldIssue("buyer_id_number", "invalid_id_number", f"the ID number {why}"))
    if not changes:
        issues.append(FieldIssue("body", "empty", "nothing to correct"))
    if issues:
        raise ValidationFailed(issues)


def resubmit(session: Session, case: ClearanceCase, *, actor: str) -> CustomsMessage:
    """Build a corrected CEB621 (appType 2, 变更) for a rejected case and send it."""
    if case.state != "rejected":
        raise Conflict(
            "not_rejected", f"only a rejected declaration is resubmitted; it is {case.state}"
        )
    _withdraw_pending(session, case)
    message = build_message(session, case, app_type="2")
    source = f"message:{message.guid}"
    payload = {"message_type": "CEB621", "guid": message.guid, "app_type": "2"}
    move(session, case, "declared", actor=actor, source=source, payload=payload)
    return message


def submit_batch(session: Session, cases: list[ClearanceCase]) -> list[int]:
    """Send the pending messages of these declared cases now; returns the case ids taken."""
    ids = [c.id for c in cases if c.id is not None and c.state == "declared"]
    if ids:
        jobs.enqueue_after_commit(session, "submit", SEND, ids)
    return ids


def retry_transport(session: Session, case: ClearanceCase, *, actor: str) -> int:
    """Put messages whose transport failed (or waits for the disk) back to pending and send
    them again now."""
    assert case.id is not None
    result = session.execute(
        update(CustomsMessage)
        .where(
            col(CustomsMessage.case_id) == case.id,
            col(CustomsMessage.transport_state).in_(("failed", "waiting")),
        )
        .values(transport_state="pending", transport_error=None, next_attempt_at=None)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if not count:
        raise Conflict("no_failed_transport", "this declaration has no failed message to retry")
    outbox.record(
        session, "clearance.transport_retry", ("order", case.order_id), actor=actor, payload={}
    )
    jobs.enqueue_after_commit(session, "submit", SEND, [case.id])
    return count


def request_cancel(
    session: Session,
    case: ClearanceCase,
    *,
    actor: str,
    source: str,
    reason: str = CANCEL_REASON,
) -> str:
    """Cancel a declaration: withdrawn at once while customs has not accepted it, otherwise a
    CEB623 asks customs to (the case becomes cancelled when CEB624 concludes)."""
    if case.state in WITHDRAWABLE:
        _withdraw_pending(session, case)
        move(session, case, "cancelled", actor=actor, source=source)
        return "cancelled"
    if case.state in FINAL:
        raise Conflict("not_cancellable", f"a declaration that is {case.state} is not cancelled")
    request_withdrawal(session, case, reason=reason, actor=actor)
    return "cancel_requested"


def request_customs_return(
    session: Session, case: ClearanceCase, *, actor: str, reason: str = RETURN_REASON
) -> str:
    """Ask customs to take back a released parcel (CEB625); returned when CEB626 concludes."""
    request_return(session, case, reason=reason, actor=actor)
    return "return_requested"


def _withdraw_pending(session: Session, case: ClearanceCase) -> None:
    session.execute(
        update(CustomsMessage)
        .where(
            col(CustomsMessage.case_id) == case.id, col(CustomsMessage.transport_state) == "pending"
        )
        .values(transport_state="withdrawn")
    )


def latest_message(session: Session, case_id: int) -> CustomsMessage | None:
    query = select(CustomsMessage).where(col(CustomsMessage.case_id) == case_id)
    return session.exec(query.order_by(col(CustomsMessage.id).desc())).first()
