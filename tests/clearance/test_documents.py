"""The three documents (三单): CEB311/411/511 sent where we file them, the CEB621 held until their
receipts are there, released by them, overdue after the warehouse's time limit; the simulator
refuses a CEB621 whose documents it has not received."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from clearance.broker.workspace import declaration_view, exceptions
from clearance.pipeline import jobs
from clearance.pipeline.documents import missing, senders_for, state_of, sweep_documents
from clearance.pipeline.models import ClearanceCase, CustomsMessage, OrderDocument
from clearance.pipeline.wiring import wire
from clearance.simulator.customs import CustomsSimulator
from kit import outbox, queue
from kit.auth import Principal, Role
from kit.db import session_scope
from kit.settings import get_settings
from tests.conftest import Stack, production_stack
from tests.identities import place_order
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan
from warehouses.models import Order
from warehouses.schemas import ScanIn

ADMIN = Principal(key_id=None, label="admin", role=Role.admin)


def _declared(warehouse: str, *, paid_through: str | None = None) -> None:
    order = place_order(300, warehouse)
    if paid_through:
        with session_scope() as session:
            session.execute(
                update(Order)
                .where(col(Order.order_no) == order["order_no"])
                .values(pay_code=paid_through, pay_name="演示支付", pay_transaction_id="T300")
            )
    data = ScanIn(warehouse=warehouse, station="in-1", code=order["tracking_no"])
    with session_scope() as session:
        assert scan(session, data, DEMO_STAFF).outcome == "matched"
    assert jobs.declare_pending() == 1


def _customs(elsewhere: frozenset[str]) -> CustomsSimulator:
    settings = get_settings()
    return CustomsSimulator(
        settings.send_dir,
        settings.receive_dir,
        delay_s=0,
        require_documents=True,
        filed_elsewhere=lambda _: elsewhere,
    )


def _round(sim: CustomsSimulator) -> None:
    """Send what is pending, let customs answer in full, read the receipts."""
    jobs.submit_pending()
    sim.step()
    time.sleep(0.01)
    sim.step()
    jobs.ingest_receipts()


def _messages() -> dict[str, str]:
    with session_scope() as session:
        rows = session.execute(
            select(col(CustomsMessage.message_type), col(CustomsMessage.transport_state))
        )
        return dict(rows.tuples().all())


def _documents() -> dict[str, str]:
    with session_scope() as session:
        rows = session.execute(select(col(OrderDocument.doc_type), col(OrderDocument.state)))
        return dict(rows.tuples().all())


def _case_state() -> str:
    with session_scope() as session:
        return session.scalars(select(col(ClearanceCase.state))).one()


def _group(key: str) -> dict:
    with session_scope() as session:
        return next(g for g in exceptions(session, ADMIN) if g["key"] == key)


def test_the_waybill_we_file_is_answered_before_the_inventory_goes(stack: Stack) -> None:
    _declared("ZZ")  # its profile: the warehouse files the carrier's CEB511
    assert _messages() == {"CEB621": "held", "CEB511": "pending"}
    assert _documents() == {
        "CEB311": "filed_elsewhere",
        "CEB411": "filed_elsewhere",
        "CEB511": "awaiting",
    }
    waiting = _group("documents_waiting")
    assert waiting["count"] == 1 and "缺运单 CEB511" in waiting["rows"][0]["reason"]
    with session_scope() as session:
        case = session.scalars(select(ClearanceCase)).one()
        view = declaration_view(session, case)
    assert [(d["doc_type"], d["state"]) for d in view["documents"]][2] == ("CEB511", "awaiting")
    sim = _customs(frozenset({"order", "payment"}))
    _round(sim)  # CEB511 out, 512 (2, 120) back: the CEB621 is released to the submit stage
    assert _documents()["CEB511"] == "accepted"
    assert _messages()["CEB621"] == "pending"
    _round(sim)
    assert _messages() == {"CEB621": "written", "CEB511": "written"}
    assert _case_state() == "released"
    assert _group("documents_waiting")["count"] == 0


def test_order_and_payment_are_sent_when_we_file_them(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CLEARWAY_DOCUMENT_SENDERS", '{"*": {"CEB311": "clearway", "CEB411": "clearway"}}'
    )
    _declared("ZZ", paid_through="DEMOPAY001")
    assert set(_messages()) == {"CEB311", "CEB411", "CEB511", "CEB621"}
    sim = _customs(frozenset())
    _round(sim)
    assert _documents() == dict.fromkeys(("CEB311", "CEB411", "CEB511"), "accepted")
    _round(sim)
    assert _case_state() == "released"


def test_a_payment_we_cannot_build_is_shown_as_missing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_DOCUMENT_SENDERS", '{"*": {"CEB411": "clearway"}}')
    _declared("ZZ")  # the order carries no payment reference
    assert _documents()["CEB411"] == "invalid" and "CEB411" not in _messages()
    assert "payCode" in _group("documents_failed")["rows"][0]["reason"]


def test_customs_refuses_an_inventory_whose_documents_it_never_received(stack: Stack) -> None:
    _declared("HZ")  # every document filed by others: nothing held
    assert _messages() == {"CEB621": "pending"}
    _round(_customs(frozenset({"order", "payment"})))  # but the carrier's waybill never came
    with session_scope() as session:
        case = session.scalars(select(ClearanceCase)).one()
    assert case.state == "rejected" and "未收到运单" in (case.last_return_info or "")


def test_late_documents_become_a_broker_exception_and_still_release(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    override = tmp_path / "profiles.toml"
    override.write_text("[ZZ.documents]\nlogistics_declarant = true\ntimeout_s = 0\n")
    monkeypatch.setenv("CLEARWAY_WAREHOUSE_PROFILES", str(override))
    get_settings.cache_clear()
    _declared("ZZ")
    jobs.submit_pending()
    assert sweep_documents() == 1  # the 512 did not come in time
    assert sweep_documents() == 0  # flagged once
    failed = _group("documents_failed")
    assert failed["count"] == 1 and "超时" in failed["rows"][0]["reason"]
    sim = _customs(frozenset({"order", "payment"}))
    sim.step()
    time.sleep(0.01)
    sim.step()
    jobs.ingest_receipts()  # the late receipt still releases the inventory
    assert _messages()["CEB621"] == "pending" and _group("documents_failed")["count"] == 0


def test_rules() -> None:
    rules: dict[str, Any] = {"logistics_declarant": False, "required": ("CEB311", "CEB511")}
    configured = {"*": {"CEB311": "clearway"}, "M1/ZZ": {"CEB311": "platform"}}
    assert senders_for(configured, "M1", "HZ", rules)["CEB311"] == "clearway"
    assert senders_for(configured, "M1", "ZZ", rules) == {
        "CEB311": "platform",
        "CEB411": "payment_company",
        "CEB511": "carrier",
    }
    assert missing({"CEB311": "accepted", "CEB511": "declared"}, rules["required"]) == ["CEB511"]
    assert state_of(120, "CEB512", "declared") == "accepted"
    assert state_of(2, "CEB512", "accepted") == "accepted"
    assert state_of(100, "CEB312", "declared") == "rejected"
    assert state_of(2, "CEB900", "awaiting") == "rejected"


@pytest.fixture
def on_rq(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from production_stack(request, monkeypatch, tmp_path, {})


def test_documents_release_the_inventory_through_rq_jobs(on_rq: Stack) -> None:
    """PostgreSQL and real Redis: the declared event sends the waybill, its receipt's
    documents_complete event sends the held CEB621, each by a job that carries no objects."""
    wire()
    order = place_order(301, "ZZ")
    data = ScanIn(warehouse="ZZ", station="in-1", code=order["tracking_no"])
    with session_scope() as session:
        assert scan(session, data, DEMO_STAFF).outcome == "matched"
    sim = _customs(frozenset({"order", "payment"}))
    for _ in range(6):  # relay → declare → submit 511 → 512 → release → submit 621 → 800
        outbox.relay()
        queue.run_burst()
        sim.step()
        time.sleep(0.01)
        sim.step()
        queue.enqueue("ingest", jobs.INGEST)
        queue.run_burst()
    assert _documents()["CEB511"] == "accepted"
    assert _case_state() == "released"
