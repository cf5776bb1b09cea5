"""Everything sent to customs carries Beijing time, whatever the host's zone: the builders run
under TZ=UTC and TZ=America/Los_Angeles and must agree with the UTC clock read as UTC+8."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sqlmodel import select

from clearance.gateway.folder import FolderExchange
from clearance.gateway.port import OutgoingMessage
from clearance.pipeline import jobs
from clearance.pipeline.declare import build_inventory
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from clearance.pipeline.requests import request_withdrawal
from declarations.fmt import CHINA_TZ, china_time, china_year_start, parse_timestamp
from kit.auth import SYSTEM
from kit.db import session_scope
from kit.errors import ValidationFailed
from tests.conftest import Stack
from tests.factories import order_payload
from tests.identities import place_order
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan
from warehouses.intake.service import create_order
from warehouses.models import Order
from warehouses.schemas import OrderIn, ScanIn

NS = {"ceb": "http://www.chinaport.gov.cn/ceb"}


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def foreign_zone(request, monkeypatch) -> Iterator[str]:
    """The host's zone set to something other than Beijing for the test's duration."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _beijing_now() -> datetime:
    return datetime.now(UTC).astimezone(CHINA_TZ)


def _case(session) -> ClearanceCase:
    """A declared case of a real order (lines, parcel, merchant), built by the declare stage."""
    order = place_order(7)
    with session_scope() as scanning:
        data = ScanIn(warehouse="HZ", station="in-1", code=order["tracking_no"])
        assert scan(scanning, data, DEMO_STAFF).outcome == "matched"
    assert jobs.declare_pending() == 1
    return session.exec(select(ClearanceCase)).one()


def _filed(session, case: ClearanceCase) -> CustomsMessage:
    query = select(CustomsMessage).where(CustomsMessage.case_id == case.id)
    return session.exec(query).one()


def test_inventory_app_and_decl_time_are_beijing_time(stack: Stack, foreign_zone: str) -> None:
    with session_scope() as session:
        inventory = build_inventory(session, _case(session))
    assert inventory.app_time.utcoffset() == timedelta(hours=8)
    assert abs(inventory.app_time - _beijing_now()) < timedelta(minutes=1)
    assert inventory.decl_time == china_time(inventory.app_time).date()


def test_ceb621_file_agrees_with_its_envelope(stack: Stack, foreign_zone: str, tmp_path) -> None:
    with session_scope() as session:
        case = _case(session)
        message = _filed(session, case)
    exchange = FolderExchange(tmp_path / "s", tmp_path / "r", tmp_path / "a", envelope_sender="X")
    name = exchange.send(OutgoingMessage("CEB621", case.cop_no, message.xml.encode()))
    envelope = etree.parse(str(tmp_path / "s" / name)).getroot()
    [created] = [e.text or "" for e in envelope.iter() if etree.QName(e).localname == "CreatTime"]
    creat = datetime.fromisoformat(created).replace(tzinfo=CHINA_TZ)
    inventory = etree.fromstring(message.xml.encode())
    app_time = parse_timestamp(inventory.findtext(".//ceb:appTime", namespaces=NS) or "")
    assert abs(app_time - creat) < timedelta(minutes=1)
    assert abs(app_time - _beijing_now()) < timedelta(minutes=1)


def test_withdrawal_request_is_beijing_time(stack: Stack, foreign_zone: str) -> None:
    with session_scope() as session:
        case = _case(session)
        case.pre_no, case.invt_no, case.state = (
            "B20261204000000001",
            "29282026I000000001",
            "accepted",
        )
        message = request_withdrawal(session, case, reason="测试", actor="t")
    root = etree.fromstring(message.xml.encode())
    app_time = parse_timestamp(root.findtext(".//ceb:appTime", namespaces=NS) or "")
    assert abs(app_time - _beijing_now()) < timedelta(minutes=1)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        china_time(datetime(2026, 11, 11, 9, 0))


def test_the_annual_allowance_starts_at_beijing_midnight() -> None:
    assert china_year_start(2027) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def _spent_at(order_no: str, when: datetime, paid: str) -> None:
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.order_no == order_no)).one()
        order.created_at, order.actural_paid = when, Decimal(paid)


def _next_order_for(buyer_of: dict, index: int) -> list[str]:
    payload = order_payload(index, "HZ", buyer=buyer_of["buyer"])
    with session_scope() as session:
        try:
            create_order(session, OrderIn.model_validate(payload), SYSTEM)
        except ValidationFailed as refused:
            return [issue.code for issue in refused.issues]
    return []


@pytest.mark.parametrize(
    ("after_midnight", "counts"), [(timedelta(hours=1), True), (timedelta(hours=-1), False)]
)
def test_annual_limit_year_turns_at_beijing_midnight(
    stack: Stack, foreign_zone: str, after_midnight: timedelta, counts: bool
) -> None:
    # 01:00 Beijing on 1 January is 17:00 UTC on 31 December: it is this year's spending.
    first = place_order(11)
    start = china_year_start(_beijing_now().year)
    _spent_at(first["order_no"], (start + after_midnight).astimezone(UTC), "25900.00")
    refused = _next_order_for(first, 12)
    assert ("over_annual_limit" in refused) is counts


def test_sent_file_names_and_archive_folders_use_the_beijing_date(
    foreign_zone: str, tmp_path
) -> None:
    exchange = FolderExchange(tmp_path / "s", tmp_path / "r", tmp_path / "a")
    name = exchange.send(OutgoingMessage("CEB621", "COP1", b"<x/>"))
    stamp = parse_timestamp(name.rsplit("_", 1)[1].removesuffix(".xml"))
    assert abs(stamp - _beijing_now()) < timedelta(minutes=1)
    [folder] = (tmp_path / "a" / "sent").iterdir()
    assert folder.name == stamp.strftime("%Y%m%d")
