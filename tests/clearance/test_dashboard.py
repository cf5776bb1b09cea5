"""The dashboard: per-warehouse counts, throughput, time in customs states, rates; /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import create_app
from clearance.dashboard import service as dashboard
from clearance.pipeline.models import ClearanceCase
from kit.auth import Role
from kit.db import session_scope
from kit.outbox import record, utcnow
from kit.settings import Settings, get_settings
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, place_order
from warehouses.models import Order, Parcel


def _case_with_history(order_no: str, moves: list[tuple[str, int]]) -> None:
    """A case whose state events happened `seconds` after a start an hour ago."""
    start = utcnow() - timedelta(hours=1)
    with session_scope() as session:
        order = session.exec(select(Order).where(col(Order.order_no) == order_no)).one()
        parcel = session.exec(select(Parcel).where(col(Parcel.order_id) == order.id)).one()
        assert order.id is not None and parcel.id is not None
        session.add(
            ClearanceCase(
                order_id=order.id,
                parcel_id=parcel.id,
                warehouse_id=order.warehouse_id,
                state=moves[-1][0],
                cop_no=f"CWT{order.id:012d}",
            )
        )
        for state, seconds in moves:
            when = start + timedelta(seconds=seconds)
            record(
                session, f"clearance.{state}", ("order", order.id), actor="test", occurred_at=when
            )


def test_time_in_status_and_rates(stack: Stack) -> None:
    first, second = (place_order(i, "HZ", merchant=MERCHANT_A)["order_no"] for i in (1, 2))
    _case_with_history(first, [("submitted", 0), ("accepted", 10), ("released", 40)])
    _case_with_history(second, [("submitted", 0), ("accepted", 30), ("rejected", 50)])
    client = TestClient(create_app())
    data = client.get("/api/v1/dashboard", headers=auth(api_key(Role.admin))).json()
    hz = next(w for w in data["warehouses"] if w["code"] == "HZ")
    assert hz["counts"] == {"released": 1, "rejected": 1}
    assert hz["time_in_status"]["submitted"] == {"count": 2, "median_s": 20.0, "p95_s": 30.0}
    assert hz["time_in_status"]["accepted"]["median_s"] == 25.0
    assert hz["rates"] == {"cases": 2, "rejected_rate": 0.5, "inspection_rate": 0.0}
    assert sum(hour["released"] for hour in hz["per_hour"]) == 1
    assert len(hz["per_hour"]) == dashboard.HOURS
    for hour in hz["per_hour"]:  # people read Beijing hours, whatever the server's TZ
        utc_hour = datetime.fromisoformat(hour["hour"]).astimezone(UTC).hour
        assert hour["hour_beijing"] == f"{(utc_hour + 8) % 24:02d}"
    assert set(data["queues"]) >= {"webhooks", "declare"}


def test_brokers_see_only_their_warehouses(stack: Stack) -> None:
    place_order(1, "SH", merchant=MERCHANT_A)
    client = TestClient(create_app())
    broker = auth(api_key(Role.broker, warehouse_codes=("HZ", "NB")))
    data = client.get("/api/v1/dashboard", headers=broker).json()
    assert [w["code"] for w in data["warehouses"]] == ["HZ", "NB"] and data["queues"] == {}
    page = client.get("/dashboard", headers=broker)
    assert page.status_code == 200 and "HZ" in page.text and "SH ·" not in page.text
    staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
    assert client.get("/dashboard", headers=staff).status_code == 403


def test_metrics_expose_parcels_queues_and_requests(stack: Stack) -> None:
    place_order(1, "HZ", merchant=MERCHANT_A)
    client = TestClient(create_app())
    client.get("/health")
    text = client.get("/metrics").text
    assert 'clearway_parcels{state="received",warehouse="HZ"} 1.0' in text
    assert 'clearway_queue_jobs{queue="webhooks"}' in text
    assert "clearway_http_requests_total" in text


def test_status_pages_are_an_admins_in_production(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().status_pages_public  # the embedded demo: `make run` shows them
    assert not Settings(redis_url="redis://127.0.0.1:6379/0").status_pages_public
    monkeypatch.setenv("CLEARWAY_PUBLIC_STATUS_PAGES", "false")
    get_settings.cache_clear()
    client = TestClient(create_app())
    assert client.get("/metrics").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
    assert client.get("/metrics", headers=staff).status_code == 403
    admin = auth(api_key(Role.admin))
    assert "clearway_parcels" in client.get("/metrics", headers=admin).text
    assert client.get("/", headers=admin).status_code == 200
