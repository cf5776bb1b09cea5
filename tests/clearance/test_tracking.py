"""Merchant tracking: lists filtered and paged, one shipment's timeline with receipt meanings."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app import create_app
from kit.auth import Role
from kit.outbox import utcnow
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, merchant_key, place_order


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
