"""Replay shortcuts: identical requests at once answer the first result, and no replay crosses a
merchant or a warehouse."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from kit.auth import Principal, Role
from kit.db import session_scope
from tests.browser import live_server
from tests.factories import auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key
from tests.warehouses.conftest import Floor, count, parcel_state, set_customs_state
from tests.warehouses.test_bulk_intake import _csv
from warehouses.floor.writes import new_scan_group
from warehouses.models import Order, Scan
from warehouses.schemas import ScanIn

AT_ONCE = 20


def _post_at_once(url: str, headers: dict[str, str], path: str, body: dict[str, Any]) -> list:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            return list(pool.map(lambda _: client.post(path, json=body), range(AT_ONCE)))


def test_identical_orders_with_one_key_at_once_all_answer_the_first(floor: Floor) -> None:
    headers = {**floor.admin, "Idempotency-Key": "same-order"}
    payload = order_payload(70)
    with live_server() as url:
        answers = _post_at_once(url, headers, "/api/v1/orders", payload)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (AT_ONCE - 1) + [201], [a.text for a in answers]
    assert {a.json()["id"] for a in answers} == {answers[0].json()["id"]}
    assert count(Order) == 1


def _staff_at(warehouse: str) -> Principal:
    return Principal(None, f"station-{warehouse}", Role.staff, None, frozenset({warehouse}))


def test_identical_scans_at_once_in_several_processes_answer_the_first(floor: Floor) -> None:
    """Each group commit stands for one web process: they race on the unique constraint."""
    order = floor.order(71)
    scan = ScanIn(warehouse="HZ", station="in-1", code=order["tracking_no"], client_scan_id="c-1")
    groups = [new_scan_group() for _ in range(AT_ONCE)]
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        answers = list(pool.map(lambda g: g.call((scan, _staff_at("HZ"))), groups))
    assert {a.outcome for a in answers} == {"matched"}
    assert {a.scan_id for a in answers} == {answers[0].scan_id}
    assert sum(not a.replayed for a in answers) == 1
    with session_scope() as session:
        logged = session.exec(select(Scan).where(col(Scan.client_scan_id) == "c-1")).all()
    assert len(logged) == 1


def test_a_scan_batch_racing_another_process_answers_the_replay(floor: Floor) -> None:
    order = floor.order(72)
    scan = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
    batch = {"scans": [{**scan, "client_scan_id": "b-1"}]}
    with live_server() as url:
        answers = _post_at_once(url, floor.staff, "/api/v1/scans/batch", batch)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    results = [a.json()["results"][0] for a in answers]
    assert {r["scan_id"] for r in results} == {results[0]["scan_id"]}
    assert {r["outcome"] for r in results} == {"matched"}


def _a_order_with_key(floor: Floor, key: str) -> dict[str, Any]:
    payload = order_payload(80, merchant=MERCHANT_A)
    headers = {**auth(merchant_key(MERCHANT_A)), "Idempotency-Key": key}
    response = floor.client.post("/api/v1/orders", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return payload


def _nothing_of(a_order: dict[str, Any], answer: httpx.Response) -> None:
    assert answer.status_code != 200
    assert a_order["order_no"] not in answer.text and a_order["tracking_no"] not in answer.text


def test_merchant_b_with_a_key_and_a_body_gets_nothing_of_a(floor: Floor) -> None:
    a_order = _a_order_with_key(floor, "shared-key")
    headers = {**auth(merchant_key(MERCHANT_B)), "Idempotency-Key": "shared-key"}
    for_a = {**order_payload(81, merchant=MERCHANT_A), "order_no": "B-GUESS-1"}
    answer = floor.client.post("/api/v1/orders", json=for_a, headers=headers)
    _nothing_of(a_order, answer)  # before: 409 naming A's order number
    assert answer.json()["errors"][0]["code"] == "not_your_merchant"
    assert floor.client.post("/api/v1/orders", json=a_order, headers=headers).status_code == 422


def test_merchant_b_with_a_key_and_its_own_order_creates_its_own(floor: Floor) -> None:
    _a_order_with_key(floor, "shared-key")
    headers = {**auth(merchant_key(MERCHANT_B)), "Idempotency-Key": "shared-key"}
    answer = floor.client.post(
        "/api/v1/orders", json=order_payload(82, merchant=MERCHANT_B), headers=headers
    )
    assert answer.status_code == 201 and answer.json()["merchant"] == MERCHANT_B
    assert count(Order) == 2


def test_batch_and_csv_replays_do_not_cross_merchants(floor: Floor) -> None:
    a_order = order_payload(83, merchant=MERCHANT_A)
    a_headers = {**auth(merchant_key(MERCHANT_A)), "Idempotency-Key": "batch-key"}
    first = floor.client.post("/api/v1/orders/batch", json={"orders": [a_order]}, headers=a_headers)
    assert first.json()["accepted"] == 1
    b_headers = {**auth(merchant_key(MERCHANT_B)), "Idempotency-Key": "batch-key"}
    batch = floor.client.post("/api/v1/orders/batch", json={"orders": [a_order]}, headers=b_headers)
    csv = floor.client.post(
        "/api/v1/orders/import",
        files={"file": ("orders.csv", _csv([a_order]), "text/csv")},
        headers=b_headers,
    )
    for answer in (batch, csv):
        [row] = answer.json()["results"]
        assert row["status"] == "refused" and row["order_id"] is None, answer.text
        assert row["errors"][0]["code"] == "not_your_merchant"


def test_a_client_scan_id_used_at_hz_is_a_new_scan_at_gz(floor: Floor) -> None:
    hz, gz = floor.order(84, "HZ"), floor.order(85, "GZ")
    admin = floor.admin
    body = {"station": "dock-1", "client_scan_id": "0001"}
    at_hz = floor.client.post(
        "/api/v1/scans", json={**body, "warehouse": "HZ", "code": hz["tracking_no"]}, headers=admin
    )
    at_gz = floor.client.post(
        "/api/v1/scans", json={**body, "warehouse": "GZ", "code": gz["tracking_no"]}, headers=admin
    )
    assert at_hz.json()["outcome"] == at_gz.json()["outcome"] == "matched"
    assert not at_gz.json()["replayed"] and at_gz.json()["scan_id"] != at_hz.json()["scan_id"]
    assert parcel_state(gz["tracking_no"])[0] == "received"
    again = floor.client.post(
        "/api/v1/scans", json={**body, "warehouse": "GZ", "code": gz["tracking_no"]}, headers=admin
    )
    assert again.json()["replayed"] and again.json()["scan_id"] == at_gz.json()["scan_id"]


AFTER_MATCHED = ("declared", "submitted", "accepted", "cleared", "released", "manual_review")


@pytest.mark.parametrize("customs_state", AFTER_MATCHED)
def test_undoing_a_match_once_declared_is_a_clean_409(floor: Floor, customs_state: str) -> None:
    order = floor.order(90)
    floor.scan(order["tracking_no"])
    set_customs_state(order["tracking_no"], customs_state)
    answer = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert answer.status_code == 409
    body = answer.json()
    assert (body["code"], body["field"]) == ("already_declared", "station")
    assert customs_state in body["message"] and body["message_zh"]
    assert parcel_state(order["tracking_no"]) == ("received", customs_state)


def test_undoing_a_match_not_yet_declared_puts_the_parcel_back(floor: Floor) -> None:
    order = floor.order(91)
    floor.scan(order["tracking_no"])
    answer = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert answer.status_code == 200 and answer.json()["parcels_put_back"] == 1
    assert parcel_state(order["tracking_no"]) == ("expected", "none")
