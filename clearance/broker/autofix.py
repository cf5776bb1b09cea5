"""Fixing what customs rejected for a reason the caller knows how to fix: infer from the free text
of a 100 receipt which order fields it is about, correct them, and resubmit the declaration as a
change (appType 2). Customs writes returnInfo as free Chinese text (cbec-facts §2.9), so the
inference is by keyword and conservative: a reason it cannot place offers no auto-fix."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import Session, col, select

from clearance.broker.actions import correct_order, resubmit
from clearance.pipeline.models import ClearanceCase
from warehouses.models import Order

# Words customs uses for the order fields a broker may correct, most specific first: a reason
# is about the field whose word comes first in it (the subject of a Chinese sentence leads).
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("收货人电话", "consignee_phone"),
    ("收件人电话", "consignee_phone"),
    ("收货人姓名", "consignee_name"),
    ("收件人姓名", "consignee_name"),
    ("地址", "consignee_address"),
    ("身份证", "buyer_id_number"),
    ("证件号码", "buyer_id_number"),
    ("电话", "buyer_phone"),
    ("姓名", "buyer_name"),
)
# Reasons about a document someone else sends (payment, waybill) or about amounts and limits:
# correcting the order's buyer data would not cure them.
NOT_OURS = ("支付单", "运单", "限值", "金额", "税")
_BRACKETED = re.compile(r"\[[^\]]*\]")
_SENTENCES = re.compile(r"[；;。\n]")

Fixer = Callable[[Order, str], str | None]


def named_fields(return_info: str) -> list[str]:
    """The order fields a rejection is about, in the order named; none at all when any of its
    reasons cannot be placed on one correctable field (pure)."""
    text = _BRACKETED.sub("", return_info)  # brackets hold values and context, not reasons
    reasons = [part.strip() for part in _SENTENCES.split(text) if part.strip()]
    fields = [field_of(reason) for reason in reasons]
    if not fields or any(found is None for found in fields):
        return []
    return list(dict.fromkeys(found for found in fields if found))


def field_of(reason: str) -> str | None:
    """The order field one reason is about, or None when it is not clearly one of them."""
    if any(word in reason for word in NOT_OURS):
        return None
    hits = [(reason.find(word), field) for word, field in KEYWORDS if word in reason]
    return min(hits)[1] if hits else None


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
