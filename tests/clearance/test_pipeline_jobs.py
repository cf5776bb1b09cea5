"""Pipeline jobs beside ingestion: floor events (shipped, cancelled), the sweeper, per-warehouse
gateways with the DxpMsg envelope, and the operator commands."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from lxml import etree
from sqlalchemy import select, update
from sqlmodel import col
from typer.testing import CliRunner

from clearance.gateway.exchange import configure, gateway, gateway_for, receiving_gateways
from clearance.gateway.port import OutgoingMessage
from clearance.pipeline.jobs import cancel_orders, ship_released
from clearance.pipeline.models import ClearanceCase, Receipt
from clearance.pipeline.sweep import flag_stuck, release_claims
from clearance.simulator.loadgen import receipts_for, seed_submitted_cases, write_receipts
from cli import app as cli_app
from declarations.codes import DXP_NS
from kit import outbox
from kit.db import session_scope
from tests.conftest import Stack
from warehouses.models import Parcel, Warehouse


def _case(state: str) -> ClearanceCase:
    with session_scope() as session:
        seeded = seed_submitted_cases(session, 1)
        case = session.scalars(
            select(ClearanceCase).where(col(ClearanceCase.cop_no) == seeded[0].cop_no)
        ).one()
        case.state = state
        session.add(case)
    return case


def _event(topic: str, order_id: int) -> int:
    with session_scope() as session:
        return outbox.record(session, topic, ("order", order_id), actor="staff:test")


def _state(case_id: int | None) -> str:
    with session_scope() as session:
        found = session.get(ClearanceCase, case_id)
        assert found is not None
        return found.state


def _topics(order_id: int) -> list[str]:
    with session_scope() as session:
        return [e.topic for e in outbox.timeline(session, "order", order_id)]


def _gated(case: ClearanceCase) -> None:
    """The parcel went out at the gate (what ship_released looks for)."""
    with session_scope() as session:
        session.execute(
            update(Parcel).where(col(Parcel.id) == case.parcel_id).values(floor_state="shipped")
        )


def test_gate_out_of_a_released_parcel_ships_the_case(stack: Stack) -> None:
    case = _case("released")
    _gated(case)
    assert ship_released() == 1
    assert _state(case.id) == "shipped"
    assert ship_released() == 0  # idempotent


def test_shipped_event_for_an_unreleased_case_moves_nothing(stack: Stack) -> None:
    case = _case("accepted")
    _gated(case)
    assert ship_released() == 0
    assert _state(case.id) == "accepted"


def test_order_cancelled_before_customs_withdraws_the_case(stack: Stack) -> None:
    case = _case("declared")
    assert cancel_orders([_event("order.cancelled", case.order_id)]) == 1
    assert _state(case.id) == "cancelled"


def test_order_cancelled_before_customs_numbered_it_is_flagged(stack: Stack) -> None:
    case = _case("submitted")
    assert cancel_orders([_event("order.cancelled", case.order_id)]) == 0
    assert _state(case.id) == "submitted"
    assert _topics(case.order_id)[-1] == "clearance.cancel_blocked"


def test_stuck_cases_are_flagged_once_per_state(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("CLEARWAY_STUCK_AFTER", '{"submitted": 0}')
    case = _case("submitted")
    time.sleep(0.01)
    with session_scope() as session:
        assert flag_stuck(session) == 1
    with session_scope() as session:
        assert flag_stuck(session) == 0
    assert _topics(case.order_id).count("clearance.stuck") == 1


def test_claims_of_a_dead_worker_are_put_back(stack: Stack) -> None:
    exchange = gateway()
    receipts = receipts_for([])  # no cases: nothing to write
    assert receipts == []
    with session_scope() as session:
        seeded = seed_submitted_cases(session, 2)
    write_receipts(exchange.receive_dir, receipts_for(seeded))
    with exchange.claiming(heartbeat_s=60):
        claimed = list(exchange.claim_receipts(3))
        with session_scope() as session:
            assert release_claims(session) == 0, "a beating claimer keeps its claims"
        old = time.time() - 3600
        os.utime(exchange.owner_dir / ".heartbeat", (old, old))  # as if it stopped beating
        with session_scope() as session:
            assert release_claims(session) == len(claimed) == 3
    assert len(exchange.waiting()) == len(receipts_for(seeded))


def test_each_warehouse_has_its_own_folders_and_envelope(stack: Stack, tmp_path: Path) -> None:
    with session_scope() as session:
        hz = session.scalars(select(Warehouse).where(col(Warehouse.code) == "HZ")).one()
        configure(
            session, hz, send_dir=tmp_path / "hz-out", receive_dir=tmp_path / "hz-in", envelope=True
        )
    with session_scope() as session:
        assert hz.id is not None
        exchange = gateway_for(session, hz.id)
        folders = {str(g.receive_dir) for g in receiving_gateways(session)}
    assert folders == {str(gateway().receive_dir), str(tmp_path / "hz-in")}
    name = exchange.send(OutgoingMessage("CEB621", "CWHZ1", b"<CEB621Message/>"))
    envelope = etree.fromstring((tmp_path / "hz-out" / name).read_bytes())
    assert envelope.tag == f"{{{DXP_NS}}}DxpMsg"
    assert envelope.findtext(f".//{{{DXP_NS}}}SenderId") == hz.dxp_id
    assert envelope.findtext(f".//{{{DXP_NS}}}ReceiverId") == "DXPEDCCEB0000002"
    data = envelope.findtext(f"{{{DXP_NS}}}Data") or ""
    assert base64.b64decode(data) == b"<CEB621Message/>"
    assert not exchange.picked_up(name)
    (tmp_path / "hz-out" / name).unlink()  # the transfer client took it
    assert exchange.picked_up(name)


def test_operator_commands(stack: Stack, tmp_path: Path) -> None:
    with session_scope() as session:
        seeded = seed_submitted_cases(session, 3)
    archive = tmp_path / "lost-batch"
    receipts = receipts_for(seeded)
    write_receipts(archive, receipts)
    runner = CliRunner()
    replay = runner.invoke(cli_app, ["replay-receipts", str(archive)])
    assert replay.exit_code == 0, replay.output
    again = runner.invoke(cli_app, ["replay-receipts", str(archive)])
    assert f"duplicate {len(receipts)}" in again.output
    with session_scope() as session:
        assert len(session.scalars(select(Receipt)).all()) == len(receipts)
    status = runner.invoke(cli_app, ["queue", "status"])
    assert status.exit_code == 0 and "ingest" in status.output, status.output
    swept = runner.invoke(cli_app, ["sweep", "--claims-older-than", "0"])
    assert swept.exit_code == 0 and "receipt claims released: 0" in swept.output
    assert "events_relayed" in swept.output
