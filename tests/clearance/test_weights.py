"""A net weight (legal quantity in kg) over the parcel's gross weight is not declared with a
weight quietly changed: the case is held before declaring, and the broker sees why in Chinese
and English (cbec-facts §2.7: gross includes the packing, net is the goods alone)."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import update
from sqlmodel import col, select

from app import create_app
from clearance.pipeline import jobs
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from kit.auth import SYSTEM
from kit.db import session_scope
from kit.outbox import Event
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan
from warehouses.intake.service import create_order
from warehouses.models import Sku
from warehouses.schemas import OrderIn, ScanIn

NS = {"ceb": "http://www.chinaport.gov.cn/ceb"}


def _legal_kg_of_vitc(kg: str) -> None:
    with session_scope() as session:
        session.execute(
            update(Sku).where(col(Sku.sku) == "VITC-120").values(qty1_per_unit=Decimal(kg))
        )


def _matched_vitc(index: int) -> str:
    """Two VITC-120 bottles (0.20 kg each, so 0.4 kg expected gross), taken in unweighed."""
    payload = order_payload(index, lines=[{"sku": "VITC-120", "qty": "2", "price": "129.00"}])
    with session_scope() as session:
        create_order(session, OrderIn.model_validate(payload), SYSTEM)
    with session_scope() as session:
        data = ScanIn(warehouse="HZ", station="in-1", code=payload["tracking_no"])
        assert scan(session, data, DEMO_STAFF).outcome == "matched"
    return str(payload["order_no"])


def test_a_net_over_the_gross_is_held_for_the_broker_not_altered(stack: Stack) -> None:
    _legal_kg_of_vitc("0.5")  # booked as 0.5 kg a bottle: 1 kg net in a 0.4 kg parcel
    order_no = _matched_vitc(401)
    assert jobs.declare_pending() == 1  # taken, and left matched
    with session_scope() as session:
        assert session.exec(select(CustomsMessage)).all() == []
        assert session.exec(select(ClearanceCase)).one().state == "matched"
        event = session.exec(select(Event).where(Event.topic == "clearance.declaration_invalid"))
        assert event.one().payload["code"] == "net_over_gross"
    groups = TestClient(create_app()).get("/api/v1/broker/exceptions", headers=auth(api_key()))
    [row] = next(g for g in groups.json() if g["key"] == "held_before_declaring")["rows"]
    assert row["order_no"] == order_no
    assert "1 kg" in row["reason_en"] and "0.4 kg" in row["reason_en"]
    assert "法定数量 1 千克大于包裹毛重 0.4 千克" in row["reason_zh"]
    assert row["reason"].startswith(row["reason_zh"])


def test_a_net_within_the_gross_is_declared_as_it_is(stack: Stack) -> None:
    _matched_vitc(402)  # 2 × 0.15 kg legal in a 0.4 kg parcel
    assert jobs.declare_pending() == 1
    with session_scope() as session:
        xml = session.exec(select(CustomsMessage)).one().xml
    head = etree.fromstring(xml.encode()).find(".//ceb:InventoryHead", NS)
    assert head is not None
    weights = (
        head.findtext("ceb:grossWeight", namespaces=NS),
        head.findtext("ceb:netWeight", namespaces=NS),
    )
    assert tuple(Decimal(w or "") for w in weights) == (Decimal("0.4"), Decimal("0.3"))
