"""Stations scanning at once over real HTTP: nothing fails, and a parcel is taken in only once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.browser import live_server
from tests.warehouses.conftest import Floor, count, events
from warehouses.floor import writes as floor_writes
from warehouses.models import Scan


def test_concurrent_scans_all_land_and_a_race_has_one_winner(floor: Floor) -> None:
    orders = [floor.order(i) for i in range(1, 25)]
    codes = [o["tracking_no"] for o in orders for _station in (1, 2)]
    with live_server() as url, httpx.Client(base_url=url, headers=floor.staff) as client:

        def scan(job: tuple[int, str]) -> tuple[int, str]:
            index, code = job
            body = {"warehouse": "HZ", "station": f"in-{index % 2}", "code": code}
            response = client.post("/api/v1/scans", json=body, timeout=30)
            return response.status_code, response.json().get("outcome", "")

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(scan, enumerate(codes)))
    assert {status for status, _ in results} == {200}
    outcomes = [outcome for _, outcome in results]
    assert outcomes.count("matched") == len(orders)
    assert outcomes.count("duplicate") == len(orders)
    assert len(events("parcel.matched")) == len(orders)


def test_a_scan_kept_waiting_on_sqlite_is_told_busy(floor: Floor, stack, monkeypatch) -> None:
    order = floor.order(30)
    monkeypatch.setattr(floor_writes, "BUSY_AFTER_S", 0.2)
    body = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
    with floor_writes.sqlite_writer:  # another write holds the embedded database
        response = floor.client.post("/api/v1/scans", json=body, headers=floor.staff)
    if stack.backend == "sqlite":
        assert response.status_code == 409 and response.json()["code"] == "busy"
        assert count(Scan) == 0
        response = floor.client.post("/api/v1/scans", json=body, headers=floor.staff)
    assert response.json()["outcome"] == "matched"
