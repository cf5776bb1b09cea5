"""Bad orders and unknown parcels get clear errors naming the field, and leave nothing behind."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import create_app
from kit.db import session_scope
from kit.outbox import Event
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload
from warehouses.models import Order, OrderLine, Parcel, Scan


def _counts() -> dict[str, int]:
    with session_scope() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Order, OrderLine, Parcel, Event, Scan)
        }


def test_malformed_order_names_the_field_and_stores_nothing(stack: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    before = _counts()
    bad = order_payload(2, buyer={**order_payload(2)["buyer"], "id_number": "110105194912310021"})
    response = client.post("/api/v1/orders", json=bad, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["field"] == "buyer.id_number"
    assert "check digit" in response.json()["message"]
    assert _counts() == before


def test_unknown_sku_and_missing_field_are_reported_per_field(stack: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    payload = order_payload(3)
    payload["lines"][0]["sku"] = "NOPE"
    del payload["consignee"]
    response = client.post("/api/v1/orders", json=payload, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["field"] == "consignee"
    del payload["buyer"]["phone"]
    payload["consignee"] = order_payload(3)["consignee"]
    payload["buyer"]["phone"] = "13800138000"
    response = client.post("/api/v1/orders", json=payload, headers=auth(key))
    assert response.json()["errors"][0] == {
        "field": "lines[0].sku",
        "code": "sku_not_in_account_book",
        "message": "SKU NOPE is not in warehouse HZ's bonded account book",
        "message_zh": "该商品未在账册中备案",
    }


def test_order_over_single_limit_is_refused(stack: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    payload = order_payload(4, lines=[{"sku": "SERUM-30ML", "qty": 7, "price": "680.00"}])
    response = client.post("/api/v1/orders", json=payload, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "over_single_order_limit"


def test_unknown_parcel_is_logged_and_touches_no_order(stack: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    before = _counts()
    response = client.post(
        "/api/v1/scans",
        headers=auth(key),
        json={"warehouse": "HZ", "station": "in-1", "code": "NO-SUCH"},
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown"
    after = _counts()
    assert after["Scan"] == before["Scan"] + 1
    assert {k: v for k, v in after.items() if k != "Scan"} == {
        k: v for k, v in before.items() if k != "Scan"
    }


def test_scan_at_wrong_warehouse_and_duplicate(stack: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    order = order_payload(5, "GZ")
    assert client.post("/api/v1/orders", json=order, headers=auth(key)).status_code == 201
    scan = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
    wrong = client.post("/api/v1/scans", json=scan, headers=auth(key)).json()
    assert (wrong["outcome"], wrong["details"]["belongs_to"]) == ("wrong_warehouse", "GZ")
    scan["warehouse"] = "GZ"
    assert client.post("/api/v1/scans", json=scan, headers=auth(key)).json()["outcome"] == "matched"
    again = client.post("/api/v1/scans", json=scan, headers=auth(key)).json()
    assert again["outcome"] == "duplicate" and again["details"]["station"] == "in-1"


def test_requests_without_a_key_are_refused(stack: Stack) -> None:
    response = TestClient(create_app()).post("/api/v1/orders", json=order_payload(6))
    assert response.status_code == 401
    assert response.json()["code"] == "missing_api_key"
