"""What intake priced reaches customs and comes back: CEB621 declares the order's insured fee,
and goods returned through CEB625/626 give the buyer's annual allowance back at intake (GACC
2020 No.45, cbec-facts §5.3), as the simulator's register does; the year is Beijing's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from lxml import etree
from sqlmodel import select

from clearance.pipeline import jobs
from clearance.pipeline.ingest import ReceiptFile, ingest_files
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from declarations.receipts import Receipt
from kit.auth import SYSTEM
from kit.db import session_scope
from kit.errors import ValidationFailed
from tests.conftest import Stack
from tests.factories import order_payload
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan
from warehouses.intake.service import create_order
from warehouses.models import Order, Parcel
from warehouses.schemas import OrderIn, ScanIn

NS = {"ceb": "http://www.chinaport.gov.cn/ceb"}


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def foreign_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _take(payload: dict) -> list[str]:
    """Intake's verdict: [] when taken, else the codes of the issues refusing it."""
    with session_scope() as session:
        try:
            create_order(session, OrderIn.model_validate(payload), SYSTEM)
        except ValidationFailed as refused:
            return [issue.code for issue in refused.issues]
    return []


def test_the_declaration_carries_the_insured_fee(stack: Stack) -> None:
    payload = order_payload(301, insured_fee="5.00")
    assert _take(payload) == []
    with session_scope() as session:
        data = ScanIn(warehouse="HZ", station="in-1", code=payload["tracking_no"])
        assert scan(session, data, DEMO_STAFF).outcome == "matched"
    assert jobs.declare_pending() == 1
    with session_scope() as session:
        xml = session.exec(select(CustomsMessage)).one().xml
    head = etree.fromstring(xml.encode()).find(".//ceb:InventoryHead", NS)
    assert head is not None and head.findtext("ceb:insuredFee", namespaces=NS) == "5.00"


def _released_big_spender(index: int) -> tuple[dict, str]:
    """A buyer's order stood in as 25,800 of goods paid 25,900, released by customs."""
    payload = order_payload(index)
    assert _take(payload) == []
    cop_no = f"RET{index:08d}"
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.order_no == payload["order_no"])).one()
        order.goods_value, order.actural_paid = Decimal("25800.00"), Decimal("25900.00")
        parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
        assert order.id is not None and parcel.id is not None
        session.add(
            ClearanceCase(
                order_id=order.id,
                parcel_id=parcel.id,
                warehouse_id=order.warehouse_id,
                state="released",
                cop_no=cop_no,
            )
        )
    return payload, cop_no


def _ceb626(cop_no: str, status: int, info: str) -> None:
    receipt = Receipt(
        "CEB626", f"R626-{cop_no}-{status}", status, "20261204120000000", info, {"copNo": cop_no}
    )
    with session_scope() as session:
        ingest_files(session, [ReceiptFile(f"CEB626_{cop_no}.xml", "<x/>", [receipt])])


def test_a_concluded_return_gives_the_allowance_back(stack: Stack, foreign_zone: str) -> None:
    first, cop_no = _released_big_spender(302)
    after = order_payload(303, buyer=first["buyer"])
    assert "over_annual_limit" in _take(after)
    _ceb626(cop_no, 399, "[Code:2000;Desc:审结]")
    # the simulator's semantics: what was paid less the goods taken back, 100.00, still counts
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.order_no == first["order_no"])).one()
        assert order.returned_value == Decimal("25800.00")
    assert _take(after) == []


def test_a_refused_return_gives_nothing_back(stack: Stack, foreign_zone: str) -> None:
    first, cop_no = _released_big_spender(304)
    _ceb626(cop_no, 100, "清单未放行或已撤销，不能申请退货")
    assert "over_annual_limit" in _take(order_payload(305, buyer=first["buyer"]))
