"""CEB816 tax bills: stored per inventory through the receipt job, reconciled with the tax
withheld at intake (beyond tolerance: a broker exception), and guarantee balances with an alert."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import col

from clearance.broker.workspace import exceptions
from clearance.dashboard.service import snapshot
from clearance.pipeline import jobs
from clearance.pipeline.models import ClearanceCase, TaxBill
from clearance.pipeline.taxbills import differs, guarantee_balances
from clearance.simulator.loadgen import seed_submitted_cases
from declarations.receipts import TaxBill as Bill
from declarations.receipts import build_ceb816
from kit.auth import Principal, Role
from kit.db import session_scope
from kit.settings import get_settings
from tests.conftest import Stack
from warehouses.models import Order

ADMIN = Principal(key_id=None, label="admin", role=Role.admin)
GUARANTOR = "DEMO3301GT"


def _case_with_tax(withheld: str) -> str:
    """A case customs numbered, whose order withheld `withheld` at intake; its invtNo."""
    with session_scope() as session:
        [seeded] = seed_submitted_cases(session, 1)
        case = session.scalars(
            select(ClearanceCase).where(col(ClearanceCase.cop_no) == seeded.cop_no)
        ).one()
        case.invt_no = "29282026I000000001"
        order = session.get(Order, case.order_id)
        assert order is not None
        order.tax_total = Decimal(withheld)
        session.add_all([case, order])
        return case.invt_no


def _deliver(invt_no: str, vat: str, *, status: str = "1", time: str = "20260101120000000") -> None:
    bill = Bill(
        guid="TAX-0001",
        return_time=time,
        invt_no=invt_no,
        tax_no="T0001",
        customs_tax=Decimal(0),
        value_added_tax=Decimal(vat),
        consumption_tax=Decimal(0),
        status=status,
        keys={"assureCode": GUARANTOR},
        lines=(),
    )
    receive = get_settings().receive_dir
    receive.mkdir(parents=True, exist_ok=True)
    (receive / f"CEB816_{invt_no}_{time}.xml").write_bytes(build_ceb816([bill], guid="F1"))
    assert jobs.ingest_receipts().get("tax_bill") == 1


def _bills() -> list[tuple[str, str, Decimal]]:
    with session_scope() as session:
        query = select(col(TaxBill.outcome), col(TaxBill.status), col(TaxBill.total))
        return list(session.execute(query).tuples())


def _mismatches() -> list[dict]:
    with session_scope() as session:
        group = next(g for g in exceptions(session, ADMIN) if g["key"] == "tax_mismatch")
        return group["rows"]


def test_a_bill_that_matches_the_tax_withheld_is_stored(stack: Stack) -> None:
    invt_no = _case_with_tax("11.74")
    _deliver(invt_no, "11.80")  # within 5%
    assert _bills() == [("matched", "1", Decimal("11.80"))]
    assert _mismatches() == []


def test_a_bill_beyond_tolerance_is_a_broker_exception_until_void(stack: Stack) -> None:
    invt_no = _case_with_tax("11.74")
    _deliver(invt_no, "13.56")
    assert _bills() == [("mismatch", "1", Decimal("13.56"))]
    [row] = _mismatches()
    assert "13.56" in row["reason"] and "11.74" in row["reason"]
    _deliver(invt_no, "13.56", status="1")  # the same bill again changes nothing
    _deliver(invt_no, "13.56", status="3", time="20260102120000000")  # customs voids it
    assert _bills() == [("matched", "3", Decimal("13.56"))] and _mismatches() == []


def test_guarantee_balance_falls_with_each_bill_and_alerts_when_low(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_GUARANTEES", f'{{"{GUARANTOR}": "10020", "OTHER": "50000"}}')
    invt_no = _case_with_tax("30.00")
    with session_scope() as session:
        before = {g["assure_code"]: g for g in guarantee_balances(session)}
    assert before[GUARANTOR]["balance"] == Decimal("10020") and not before[GUARANTOR]["low"]
    _deliver(invt_no, "30.00")
    with session_scope() as session:
        after = {g["assure_code"]: g for g in snapshot(session, ADMIN)["guarantees"]}
    assert after[GUARANTOR]["balance"] == Decimal("9990.00") and after[GUARANTOR]["low"]
    assert not after["OTHER"]["low"]


def test_tolerance_rule() -> None:
    assert not differs(Decimal("11.80"), Decimal("11.74"), Decimal("0.05"), Decimal("0.01"))
    assert differs(Decimal("13.56"), Decimal("11.74"), Decimal("0.05"), Decimal("0.01"))
    assert not differs(Decimal("0.01"), Decimal(0), Decimal("0.05"), Decimal("0.01"))
    assert differs(Decimal("0.02"), Decimal(0), Decimal("0.05"), Decimal("0.01"))
