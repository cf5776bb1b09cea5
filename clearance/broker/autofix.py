"""Fixing what customs rejected for a reason the caller knows how to fix: read the fields a 100
receipt names, correct the order, and resubmit the declaration as a change (appType 2)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import Session, col, select

from clearance.broker.actions import correct_order, resubmit
from clearance.pipeline.models import ClearanceCase
from warehouses.models import Order

# CEB621 fields customs may name in a rejection, and the order field behind each.
ORDER_FIELD = {
    "buyerTelephone": "buyer_phone",
    "consigneeAddress": "consignee_address",
    "buyerName": "buyer_name",
    "buyerIdNumber": "buyer_id_number",
}
# returnInfo as `declarations.rules.Problem` writes it: "原因: fieldName [value] (code)".
_NAMED = re.compile(r": ([A-Za-z]+)(?: \[[^\]]*\])? \([a-z_]+\)")

Fixer = Callable[[Order, str], str | None]


def named_fields(return_info: str) -> list[str]:
    """The order fields a rejection names, in the order named (pure)."""
    found = [ORDER_FIELD.get(name) for name in _NAMED.findall(return_info)]
    return list(dict.fromkeys(name for name in found if name))


def rejected_cases(session: Session, first_order_id: int, limit: int = 200) -> list[ClearanceCase]:
    """Rejected cases from `first_order_id` on, oldest first."""
    query = (
        select(ClearanceCase)
        .where(col(ClearanceCase.state) == "rejected")
        .where(col(ClearanceCase.order_id) >= first_order_id)
        .order_by(col(ClearanceCase.id))
        .limit(limit)
    )
    return list(session.exec(query))


def fix_and_resubmit(session: Session, case: ClearanceCase, fixer: Fixer, *, actor: str) -> bool:
    """Correct every field the rejection names with `fixer`'s value and resubmit; False (and
    nothing changed) when the rejection names no field or `fixer` knows no fix for one."""
    fields = named_fields(case.last_return_info or "")
    order = session.get(Order, case.order_id)
    if not fields or order is None:
        return False
    changes = {name: fixer(order, name) for name in fields}
    if any(value is None for value in changes.values()):
        return False
    correct_order(session, case, {k: v for k, v in changes.items() if v}, actor=actor)
    resubmit(session, case, actor=actor)
    return True
