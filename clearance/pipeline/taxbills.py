"""CEB816 electronic tax bills: stored per inventory, reconciled with the tax withheld at intake
(a difference beyond tolerance is a broker exception), and the running guarantee balance of each
guarantor (`assureCode`, whose guarantee customs debits: cbec-facts §5.1) with a low alert."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func
from sqlmodel import Session, col, select

from clearance.pipeline.models import ClearanceCase, TaxBill
from declarations.receipts import TaxBill as ParsedBill
from declarations.receipts import parse_tax_bills
from kit import outbox
from kit.db import session_scope
from kit.outbox import utcnow
from warehouses.models import Order

VOID = "3"  # TaxHeadRd status 3 = void (§2.10): it no longer debits the guarantee


class TaxBillSettings(BaseSettings):
    """Reconciliation tolerance and guarantors' opening balances (CLEARWAY_GUARANTEES='{"CODE":
    "500000"}'), with the balance under which the alert shows."""

    model_config = SettingsConfigDict(env_prefix="CLEARWAY_", env_file=".env", extra="ignore")

    # Customs tolerates 5% on the withheld tax (§5.2 [V1]); below a cent is rounding.
    tax_bill_tolerance: Decimal = Field(default=Decimal("0.05"), ge=0)
    tax_bill_tolerance_abs: Decimal = Field(default=Decimal("0.01"), ge=0)
    guarantees: dict[str, Decimal] = Field(default_factory=dict)
    guarantee_alert_below: Decimal = Field(default=Decimal("10000"), ge=0)


def differs(billed: Decimal, withheld: Decimal, relative: Decimal, absolute: Decimal) -> bool:
    """Pure rule: whether customs' bill and the withheld tax differ beyond tolerance."""
    return abs(billed - withheld) > max(absolute, relative * withheld)


def store_file(data: bytes) -> int:
    """Store and reconcile every tax bill of a CEB816 file in its own transaction; a bill seen
    before is updated only by a later one (status 1 → 2 → 3). Returns how many were stored."""
    bills = parse_tax_bills(data)
    with session_scope() as session:
        return sum(_store(session, bill, data.decode("utf-8", "replace")) for bill in bills)


def _store(session: Session, bill: ParsedBill, raw: str) -> int:
    query = select(TaxBill).where(
        col(TaxBill.invt_no) == bill.invt_no, col(TaxBill.tax_no) == bill.tax_no
    )
    row = session.exec(query).first()
    if row is not None and row.return_time >= bill.return_time:
        return 0
    zero = Decimal(0)
    row = row or TaxBill(
        invt_no=bill.invt_no,
        tax_no=bill.tax_no,
        guid=bill.guid,
        return_time=bill.return_time,
        status=bill.status[:2],
        customs_tax=zero,
        value_added_tax=zero,
        consumption_tax=zero,
        total=zero,
        outcome="unmatched",
        raw="",
    )
    _fill(row, bill, raw)
    _reconcile(session, row)
    session.add(row)
    return 1


def _fill(row: TaxBill, bill: ParsedBill, raw: str) -> None:
    row.guid, row.return_time, row.status = bill.guid, bill.return_time, bill.status[:2]
    row.assure_code = bill.keys.get("assureCode", "")[:30]
    row.customs_tax, row.value_added_tax = bill.customs_tax, bill.value_added_tax
    row.consumption_tax, row.total = bill.consumption_tax, bill.total
    row.raw, row.received_at = raw, utcnow()


def _reconcile(session: Session, row: TaxBill) -> None:
    case = session.exec(select(ClearanceCase).where(col(ClearanceCase.invt_no) == row.invt_no))
    found = case.first()
    if found is None:
        row.outcome = "unmatched"
        return
    order = session.get(Order, found.order_id)
    assert order is not None
    settings = TaxBillSettings()
    row.case_id, row.warehouse_id, row.withheld = found.id, found.warehouse_id, order.tax_total
    tolerance = (settings.tax_bill_tolerance, settings.tax_bill_tolerance_abs)
    mismatch = row.status != VOID and differs(row.total, order.tax_total, *tolerance)
    row.outcome = "mismatch" if mismatch else "matched"
    topic = "clearance.tax_mismatch" if mismatch else "clearance.tax_bill"
    payload = {"invt_no": row.invt_no, "billed": str(row.total), "withheld": str(row.withheld)}
    outbox.record(
        session,
        topic,
        ("order", found.order_id),
        actor="customs",
        payload=payload | {"status": row.status},
    )


def mismatched_cases(session: Session, warehouse_ids: list[int]) -> dict[int, TaxBill]:
    """Cases whose (not void) tax bill differs from the tax withheld, by case id."""
    query = select(TaxBill).where(
        col(TaxBill.outcome) == "mismatch", col(TaxBill.warehouse_id).in_(warehouse_ids)
    )
    return {bill.case_id: bill for bill in session.exec(query) if bill.case_id is not None}


def describe_mismatch(bill: TaxBill) -> str:
    return (
        f"税单 {bill.total} 与代扣税款 {bill.withheld} 不符 / "
        f"tax bill {bill.total} differs from the tax withheld {bill.withheld}"
    )


def guarantee_balances(session: Session) -> list[dict[str, Any]]:
    """Each guarantor's opening balance, what its non-void tax bills debited, what is left and
    whether it is under the alert threshold; guarantors without an opening balance say so."""
    settings = TaxBillSettings()
    used = dict(
        session.exec(
            select(TaxBill.assure_code, func.sum(TaxBill.total))
            .where(col(TaxBill.status) != VOID)
            .group_by(col(TaxBill.assure_code))
        ).all()
    )
    codes = sorted(set(used) | set(settings.guarantees))
    return [_balance(code, used.get(code) or Decimal(0), settings) for code in codes]


def _balance(code: str, used: Decimal, settings: TaxBillSettings) -> dict[str, Any]:
    opening = settings.guarantees.get(code)
    left = None if opening is None else opening - used
    low = left is not None and left < settings.guarantee_alert_below
    return {
        "assure_code": code or "?",
        "opening": opening,
        "used": used,
        "balance": left,
        "low": low,
    }
