"""Receipts that match no declaration: stored with the warehouse they concern, listed for that
warehouse's brokers (file, Beijing time, what they are about), counted on the dashboard, and
marked handled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app import create_app
from clearance.broker.unmatched import about, beijing_label
from clearance.gateway.exchange import gateway
from clearance.gateway.folder import atomic_write
from clearance.pipeline.ingest import warehouse_named
from clearance.pipeline.jobs import ingest_receipts
from declarations.receipts import Receipt as Parsed
from declarations.receipts import build_receipts
from kit.auth import Role
from kit.db import session_scope
from tests.conftest import Stack
from tests.factories import api_key, auth
from warehouses.models import Warehouse

API = "/api/v1/broker"
GUID = "A6220000-0000-4000-8000-00000000DEAD"


@pytest.fixture
def client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def foreign_zone(request, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _profile(code: str) -> Warehouse:
    with session_scope() as session:
        return session.exec(select(Warehouse).where(Warehouse.code == code)).one()


def _stray_receipt(customs_code: str, agent_code: str, name: str = "CEB622_STRAY.xml") -> None:
    keys = {"customsCode": customs_code, "agentCode": agent_code, "copNo": "UNKNOWN0001"}
    receipt = Parsed(
        "CEB622", GUID, 120, "20261111083000123", "[Code:1800;Desc:逻辑校验通过]", keys
    )
    data = build_receipts("CEB622", [receipt], guid="F6220000-0000-4000-8000-0000000000AA")
    atomic_write(gateway().receive_dir, name, data)
    assert ingest_receipts() == {"unmatched": 1}


def test_a_stray_receipt_is_shown_to_its_warehouse_brokers(client: TestClient) -> None:
    hz = _profile("HZ")
    _stray_receipt(hz.customs_code, hz.agent_code)
    mine = auth(api_key(Role.broker, warehouse_codes=("HZ",)))
    other = auth(api_key(Role.broker, warehouse_codes=("SH",)))
    [row] = client.get(f"{API}/receipts/unmatched", headers=mine).json()
    assert (row["file_name"], row["warehouse"], row["message_type"]) == (
        "CEB622_STRAY.xml",
        "HZ",
        "CEB622",
    )
    assert row["received_at"].endswith("北京时间 (Beijing time)")
    assert row["about"]["copNo"] == "UNKNOWN0001"
    assert (row["kind_zh"], row["meaning_zh"]) == ("清单回执", "海关入库")
    assert client.get(f"{API}/receipts/unmatched", headers=other).json() == []
    page = client.get("/broker/receipts", headers=mine).text
    assert "CEB622_STRAY.xml" in page and "UNKNOWN0001" in page and "未匹配回执" in page


def test_the_dashboard_counts_open_ones_until_handled(client: TestClient) -> None:
    hz = _profile("HZ")
    _stray_receipt(hz.customs_code, hz.agent_code)
    mine = auth(api_key(Role.broker, warehouse_codes=("HZ",)))
    other = auth(api_key(Role.broker, warehouse_codes=("SH",)))
    assert client.get("/api/v1/dashboard", headers=mine).json()["unmatched_receipts"] == 1
    assert client.get("/api/v1/dashboard", headers=other).json()["unmatched_receipts"] == 0
    assert "未匹配回执" in client.get("/dashboard", headers=mine).text
    [row] = client.get(f"{API}/receipts/unmatched", headers=mine).json()
    refused = client.post(f"{API}/receipts/{row['id']}/handled", headers=other)
    assert refused.status_code == 404
    done = client.post(f"{API}/receipts/{row['id']}/handled", headers=mine)
    assert done.status_code == 200 and done.json()["handled_by"]
    assert client.get("/api/v1/dashboard", headers=mine).json()["unmatched_receipts"] == 0
    assert client.get(f"{API}/receipts/unmatched", headers=mine).json() == []


def test_one_no_warehouse_can_be_told_for_goes_to_admins_only(client: TestClient) -> None:
    _stray_receipt("9999", "NOBODY")
    broker = auth(api_key(Role.broker, warehouse_codes=("HZ", "SH")))
    admin = auth(api_key(Role.admin))
    assert client.get(f"{API}/receipts/unmatched", headers=broker).json() == []
    [row] = client.get(f"{API}/receipts/unmatched", headers=admin).json()
    assert row["warehouse"] == ""
    assert client.get("/api/v1/dashboard", headers=admin).json()["unmatched_receipts"] == 1


def test_a_warehouse_is_named_only_when_exactly_one_profile_fits() -> None:
    profiles = [
        {"id": 1, "customs_code": "2928", "agent_code": "A", "logistics_code": "L"},
        {"id": 2, "customs_code": "2928", "agent_code": "B", "logistics_code": "L"},
    ]
    assert warehouse_named(profiles, {"customsCode": "2928", "agentCode": "B"}) == 2
    assert warehouse_named(profiles, {"customsCode": "2928"}) is None
    assert warehouse_named(profiles, {"logisticsCode": "L"}) is None
    assert warehouse_named(profiles, {"orderNo": "X"}) is None


def test_received_time_is_labelled_beijing_time(foreign_zone: str) -> None:
    moment = datetime(2026, 11, 10, 16, 30, tzinfo=UTC)
    assert beijing_label(moment) == "2026-11-11 00:30:00 北京时间 (Beijing time)"


def test_what_a_receipt_is_about_is_read_from_its_raw_xml() -> None:
    keys = {"logisticsCode": "SF", "logisticsNo": "SF100"}
    receipt = Parsed("CEB512", GUID, 100, "20261111083000123", "运单重复", keys)
    raw = build_receipts("CEB512", [receipt], guid=GUID).decode()
    assert about(raw) == {"logisticsNo": "SF100", "logisticsCode": "SF"}
    assert about("<not xml") == {}
