"""Merchant tracking: lists filtered and paged, one shipment's timeline with receipt meanings."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import create_app
from kit.auth import Role
from kit.db import session_scope
from kit.outbox import record, utcnow
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, merchant_key, place_order
from warehouses.models import Order


def _page(client: TestClient, key: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/shipments", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_list_filters_and_pages(stack: Stack) -> None:
    orders = [place_order(i, "HZ" if i % 2 else "SH", merchant=MERCHANT_A) for i in range(1, 6)]
    client = TestClient(create_app())
    key = merchant_key()
    seen: list[str] = []
    cursor = None
    while True:
        page = _page(client, key, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [item["order_no"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["order_no"] for o in reversed(orders)]
    assert {i["warehouse"] for i in _page(client, key, warehouse="SH")["items"]} == {"SH"}
    only = _page(client, key, order_no=orders[2]["order_no"])["items"]
    assert [i["order_no"] for i in only] == [orders[2]["order_no"]]
    assert len(_page(client, key, state="received")["items"]) == 5
    assert _page(client, key, state="released")["items"] == []
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert _page(client, key, created_from=later)["items"] == []
    assert len(_page(client, key, created_to=later)["items"]) == 5
    bad = client.get("/api/v1/shipments?cursor=abc", headers=auth(key))
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


def wait_for(client: TestClient, order_no: str, key: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    shipment: dict[str, Any] = {}
    while time.monotonic() < deadline:
        shipment = client.get(f"/api/v1/shipments/{order_no}", headers=auth(key)).json()
        if shipment.get("state") == state:
            return shipment
        time.sleep(0.1)
    raise AssertionError(f"{order_no} stuck in {shipment.get('state')}")


def test_timeline_carries_each_receipt_with_its_meaning(embedded: Stack) -> None:
    order = place_order(1, "HZ", merchant=MERCHANT_A)
    key = merchant_key()
    with TestClient(create_app(background=True)) as client:  # with the customs simulator
        scan = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
        staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
        assert client.post("/api/v1/scans", json=scan, headers=staff).json()["outcome"] == "matched"
        shipment = wait_for(client, order["order_no"], key, "released")
        label = client.get(f"/api/v1/shipments/{order['order_no']}/label.pdf", headers=auth(key))
    titles = [entry["title_en"] for entry in shipment["timeline"]]
    assert titles[:3] == [
        "Order received",
        "Parcel scanned in and matched",
        "Declared (CEB621 built)",
    ]
    receipts = {e["return_status"]: e for e in shipment["timeline"] if e["return_status"]}
    assert receipts[800]["meaning_zh"] == "放行" and receipts[800]["meaning_en"] == "Released"
    assert receipts[120]["meaning_zh"] == "海关入库"
    assert label.status_code == 200 and label.content.startswith(b"%PDF")


def test_a_merchants_timeline_hides_staff_keys_stations_and_file_names(embedded: Stack) -> None:
    order = place_order(1, "HZ", merchant=MERCHANT_A)
    secrets = ["dock-key-label-7", "dock-station-9", "CEB621_20261204_secret.xml"]
    with session_scope() as session:
        found = session.exec(select(Order).where(col(Order.order_no) == order["order_no"])).one()
        assert found.id is not None
        record(
            session,
            "parcel.matched",
            ("order", found.id),
            actor=f"staff:{secrets[0]}",
            source="scan:41",
            payload={"station": secrets[1], "file": secrets[2], "to": "matched"},
        )
    client = TestClient(create_app())
    path = f"/api/v1/shipments/{order['order_no']}"
    mine = client.get(path, headers=auth(merchant_key()))
    assert mine.status_code == 200
    assert not any(secret in mine.text for secret in secrets)
    matched = [e for e in mine.json()["timeline"] if e["topic"] == "parcel.matched"]
    assert matched and matched[0]["actor"] == "staff" and matched[0]["payload"] == {"to": "matched"}
    page = client.get(f"/track/{order['order_no']}", headers=auth(merchant_key()))
    assert page.status_code == 200 and not any(secret in page.text for secret in secrets)
    staff = client.get(path, headers=auth(api_key(Role.staff, warehouse_codes=("HZ",))))
    assert all(secret in staff.text for secret in secrets)
