"""The walking skeleton end to end: order → scan → CEB621 → customs → released → label."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from app import create_app
from clearance.pipeline.wiring import ticker
from declarations.validate import validate
from kit.queue import EmbeddedWorker
from kit.settings import get_settings
from tests.conftest import Customs, Stack, make_stack
from tests.factories import api_key, auth, order_payload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_redis(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "sqlite", redis=True)


@pytest.fixture
def production(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=True)


def _wait_for_state(client: TestClient, order_no: str, key: str, state: str) -> dict:
    deadline = time.monotonic() + 60
    shipment: dict = {}
    while time.monotonic() < deadline:
        shipment = client.get(f"/api/v1/shipments/{order_no}", headers=auth(key)).json()
        if shipment.get("state") == state:
            return shipment
        time.sleep(0.1)
    raise AssertionError(f"{order_no} stuck in {shipment.get('state')}: {shipment}")


def _archived(kind: str) -> list[Path]:
    return sorted((get_settings().archive_dir / kind).rglob("*.xml"))


def _wait_for_archived(kind: str, count: int, timeout: float = 30.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while len(found := _archived(kind)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def run_thin_path(client: TestClient) -> None:
    key = api_key()
    order = order_payload(1, "HZ")
    created = client.post("/api/v1/orders", json=order, headers=auth(key))
    assert created.status_code == 201, created.text
    scan = client.post(
        "/api/v1/scans",
        headers=auth(key),
        json={"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]},
    )
    assert scan.json()["outcome"] == "matched"
    shipment = _wait_for_state(client, order["order_no"], key, "released")
    topics = [event["topic"] for event in shipment["timeline"]]
    assert topics[:6] == [
        "order.received",
        "parcel.matched",
        "clearance.declared",
        "clearance.submitted",
        "clearance.declared_to_eport",
        "clearance.accepted",
    ]
    assert topics[-1] == "clearance.released"
    assert shipment["customs"]["invt_no"].startswith("2928")
    sent = _archived("sent")
    assert len(sent) == 1 and validate(etree.parse(str(sent[0])).getroot()) == []
    # The receipt is archived after its state commits (the database is the source of truth),
    # so "released" can be seen a moment before the last file leaves the inbox.
    assert len(_wait_for_archived("received", 4)) == 4
    label = client.get(f"/api/v1/shipments/{order['order_no']}/label.pdf", headers=auth(key))
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 283.4646 425.1969 ]" in label.content


def test_thin_path_embedded(embedded: Stack) -> None:
    with Customs(), TestClient(create_app(background=True)) as client:
        run_thin_path(client)


def test_thin_path_sqlite_with_real_redis(sqlite_redis: Stack) -> None:
    worker = EmbeddedWorker().start()  # with REDIS_URL set, serve leaves jobs to workers
    try:
        with Customs(), TestClient(create_app(background=True)) as client:
            run_thin_path(client)
    finally:
        worker.stop()


def _worker_processes(count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ}
    command = [sys.executable, "-m", "cli", "worker"]
    procs = [subprocess.Popen([*command, "--with-scheduler"], cwd=ROOT, env=env)]
    procs += [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(count - 1)]
    return procs


@pytest.mark.production
def test_thin_path_production_with_worker_processes(production: Stack) -> None:
    workers = _worker_processes(2)
    try:
        with Customs(), TestClient(create_app(background=False)) as client:
            run_thin_path(client)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(20)


def test_ticker_is_wired() -> None:
    assert {func for _, _, func in ticker().tasks} == {
        "clearance.pipeline.jobs.ingest_receipts",
        "kit.outbox.sweep",
    }
