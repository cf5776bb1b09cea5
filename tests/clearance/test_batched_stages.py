"""The pipeline's batched stages: declare and submit drain many parcels per job, gate-out ships
in bulk, an invalid declaration backs off, and a rejection customs names a field for is fixed
and resubmitted (appType 2) until released."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from clearance.broker.autofix import fix_and_resubmit, named_fields, rejected_cases
from clearance.pipeline import jobs
from clearance.pipeline.declare import DeclarationInvalid
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from clearance.pipeline.sweep import DeclareHistory, may_redeclare, redeclare_due
from clearance.simulator.customs import CustomsSimulator, Rates
from clearance.simulator.wording import refusal_text
from declarations.rules import Problem
from kit import outbox
from kit.db import session_scope
from kit.outbox import utcnow
from kit.settings import get_settings
from tests.conftest import Stack
from tests.identities import place_order
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan
from warehouses.models import Order, Parcel
from warehouses.schemas import ScanIn


def _matched(count: int) -> list[str]:
    order_nos = []
    for index in range(count):
        order = place_order(100 + index)
        data = ScanIn(warehouse="HZ", station="in-1", code=order["tracking_no"])
        with session_scope() as session:
            assert scan(session, data, DEMO_STAFF).outcome == "matched"
        order_nos.append(order["order_no"])
    return order_nos


def _cases() -> list[ClearanceCase]:
    with session_scope() as session:
        return list(session.scalars(select(ClearanceCase).order_by(col(ClearanceCase.id))))


def _topics(topic: str) -> list[int]:
    with session_scope() as session:
        query = select(col(outbox.Event.subject_id)).where(col(outbox.Event.topic) == topic)
        return list(session.scalars(query))


def test_one_declare_and_one_submit_job_carry_the_whole_batch(stack: Stack) -> None:
    _matched(5)
    assert jobs.declare_pending() == 5
    assert jobs.declare_pending() == 0  # idempotent: every parcel has its case
    cases = _cases()
    assert [c.state for c in cases] == ["declared"] * 5
    assert sorted(_topics("clearance.declared")) == sorted(c.order_id for c in cases)
    assert jobs.submit_pending() == 5
    assert jobs.submit_pending() == 0
    assert [c.state for c in _cases()] == ["submitted"] * 5
    sent = sorted(get_settings().send_dir.glob("CEB621_*.xml"))
    assert len(sent) == 5 and len(list((get_settings().archive_dir / "sent").rglob("*.xml"))) == 5
    with session_scope() as session:
        states = session.scalars(select(col(CustomsMessage.transport_state))).all()
        parcels = session.scalars(select(col(Parcel.customs_state))).all()
    assert set(states) == {"written"} and set(parcels) == {"submitted"}


def test_gate_out_ships_released_cases_in_bulk(stack: Stack) -> None:
    _matched(3)
    jobs.declare_pending()
    with session_scope() as session:
        cases = session.scalars(select(ClearanceCase)).all()
        for case in cases:
            case.state = "released"
        parcel = session.scalars(select(Parcel).order_by(col(Parcel.id))).first()
        assert parcel is not None
        parcel.floor_state = "shipped"
    assert jobs.ship_released() == 1
    assert sorted(c.state for c in _cases()) == ["released", "released", "shipped"]
    assert jobs.ship_released() == 0


def _invalid(*_: Any, **__: Any) -> tuple[str, str]:
    raise DeclarationInvalid("declaration_invalid", "consigneeAddress: too long", field="x")


def test_an_invalid_declaration_is_not_rebuilt_on_every_sweep(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _matched(1)
    monkeypatch.setattr("clearance.pipeline.declare_stage.render_message", _invalid)
    assert jobs.declare_pending() == 1  # taken, and left matched
    assert [c.state for c in _cases()] == ["matched"]
    assert jobs.declare_pending() == 0  # it has its case: not taken again
    assert len(_topics("clearance.declaration_invalid")) == 1
    later = utcnow() + timedelta(seconds=1)
    with session_scope() as session:
        assert redeclare_due(session, later) == []  # within its back-off


def test_the_back_off_doubles_and_a_correction_ends_it() -> None:
    now = utcnow()
    failed = DeclareHistory(failures=3, last_failure=now - timedelta(seconds=200))
    assert may_redeclare(DeclareHistory(), now, 60, 3600)  # never failed: its job was lost
    assert not may_redeclare(failed, now, 60, 3600)  # waits 240 s after the third failure
    assert may_redeclare(failed, now + timedelta(seconds=40), 60, 3600)
    corrected = DeclareHistory(3, now - timedelta(seconds=5), corrected=now)
    assert may_redeclare(corrected, now, 60, 3600)
    many = DeclareHistory(failures=40, last_failure=now - timedelta(seconds=3600))
    assert may_redeclare(many, now, 60, 3600)  # capped


def test_a_rejection_names_the_fields_to_correct() -> None:
    phone = Problem("spot_check", "buyerTelephone", "refused", "订购人电话不符", "13800000000")
    address = Problem("spot_check", "consigneeAddress", "refused", "收货地址不详")
    info = refusal_text([phone, address], {"ebcCode": "EBC1", "orderNo": "TM1"})
    assert named_fields(info) == ["buyer_phone", "consignee_address"]
    assert named_fields("[Code:2000;Desc:审结]") == []


def _customs(rate: float) -> CustomsSimulator:
    settings = get_settings()
    return CustomsSimulator(
        settings.send_dir, settings.receive_dir, delay_s=0, rates=Rates(reject=rate)
    )


def _run(sim: CustomsSimulator) -> None:
    jobs.submit_pending()
    sim.step()
    time.sleep(0.01)
    sim.step()
    jobs.ingest_receipts()


def _fixed_phone(order: Order, field: str) -> str | None:
    return "13912345678" if field == "buyer_phone" else f"{order.consignee_address}8号"


def test_a_spot_check_rejection_is_fixed_and_resubmitted_until_released(stack: Stack) -> None:
    _matched(1)
    jobs.declare_pending()
    sim = _customs(1.0)
    _run(sim)
    [case] = _cases()
    assert case.state == "rejected" and named_fields(case.last_return_info or "")
    with session_scope() as session:
        [found] = rejected_cases(session, 0)
        assert fix_and_resubmit(session, found, lambda *_: None, actor="t") is False
        assert fix_and_resubmit(session, found, _fixed_phone, actor="t") is True
    sim.rates = Rates(reject=0.0)
    _run(sim)
    with session_scope() as session:
        messages = session.scalars(select(col(CustomsMessage.app_type))).all()
    assert sorted(messages) == ["1", "2"]
    assert _cases()[0].state == "released"
    assert len(_topics("order.corrected")) == 1


def test_a_resubmission_that_changes_nothing_is_rejected_again(stack: Stack) -> None:
    _matched(1)
    jobs.declare_pending()
    sim = _customs(1.0)
    _run(sim)
    with session_scope() as session:
        [case] = rejected_cases(session, 0)
        order = session.get(Order, case.order_id)
        assert order is not None
        same = {"buyer_phone": order.buyer_phone, "consignee_address": order.consignee_address}
        fix_and_resubmit(session, case, lambda _o, name: same[name], actor="t")
    sim.rates = Rates(reject=0.0)
    _run(sim)
    assert _cases()[0].state == "rejected"
