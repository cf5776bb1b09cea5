"""Print jobs: one ZPL stream per batch to a TCP printer, dead printers, spool files, reprints,
the audit on each order's timeline, and who may print or preview."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from app import create_app
from clearance.printing.labeling import label_data
from clearance.printing.service import PrintJob, sweep_print_jobs
from kit import outbox
from kit.auth import Role
from kit.db import session_scope
from kit.outbox import utcnow
from kit.queue import get_queue, get_redis, run_burst
from kit.settings import get_settings
from labels import render_zpl
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key, place_order
from warehouses.models import Order


class LoopbackPrinter:
    """A raw TCP 9100 printer on 127.0.0.1: keeps the bytes of each connection (one job)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.jobs: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                self.jobs.append(self._read(conn))

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def printer_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackPrinter]:
    server = LoopbackPrinter()
    allow_printer_port(monkeypatch, server.port)
    yield server
    server.close()


def allow_printer_port(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Fake printers listen on a free port, not the LAN printers' 9100."""
    monkeypatch.setenv("CLEARWAY_PRINTER_PORTS", f"[{port}]")
    get_settings.cache_clear()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _add_printer(client: TestClient, name: str, kind: str, url: str) -> None:
    body = {"name": name, "kind": kind, "url": url, "station": "in-1"}
    response = client.post("/api/v1/warehouses/HZ/printers", json=body, headers=auth(api_key()))
    assert response.status_code == 201, response.text


def _print(client: TestClient, key: str, order_nos: list[str], **extra: Any) -> dict[str, Any]:
    body = {"order_nos": order_nos, **extra}
    response = client.post("/api/v1/print-jobs", json=body, headers=auth(key))
    assert response.status_code == 202, response.text
    return response.json()


def _job(client: TestClient, key: str, job_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/print-jobs/{job_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def _expected_zpl(order_nos: list[str]) -> bytes:
    with session_scope() as session:
        orders = [
            session.exec(select(Order).where(col(Order.order_no) == no)).one() for no in order_nos
        ]
        return render_zpl([label_data(session, order) for order in orders])


def _topics(order_no: str) -> list[tuple[str, str]]:
    with session_scope() as session:
        order = session.exec(select(Order).where(col(Order.order_no) == order_no)).one()
        assert order.id is not None
        return [(e.topic, e.actor) for e in outbox.timeline(session, "order", order.id)]


def _staff() -> str:
    return api_key(Role.staff, warehouse_codes=("HZ",))


def test_a_batch_reaches_a_tcp_printer_as_one_zpl_stream(
    stack: Stack, printer_server: LoopbackPrinter
) -> None:
    order_nos = [place_order(i, "HZ")["order_no"] for i in range(1, 4)]
    client = TestClient(create_app())
    _add_printer(client, "zebra-1", "zpl", f"tcp://127.0.0.1:{printer_server.port}")
    staff = _staff()
    queued = _print(client, staff, order_nos, printer="zebra-1")
    assert (queued["status"], queued["format"]) == ("queued", "zpl")
    assert queued["progress"] == {"done": 0, "total": 3}
    run_burst(("labels",))
    job = _job(client, staff, queued["id"])
    assert job["status"] == "sent" and job["reason"] is None and job["sent_at"]
    assert job["progress"] == {"done": 3, "total": 3} and job["order_nos"] == order_nos
    assert printer_server.jobs == [_expected_zpl(order_nos)]
    assert printer_server.jobs[0].count(b"^XA") == 3
    for order_no in order_nos:
        assert ("label.printed", "staff:test-staff") in _topics(order_no)


def test_a_dead_printer_fails_the_job_quickly_with_a_reason(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_no = place_order(1, "HZ")["order_no"]
    client = TestClient(create_app())
    port = _closed_port()
    allow_printer_port(monkeypatch, port)
    _add_printer(client, "gone", "zpl", f"tcp://127.0.0.1:{port}?retries=1&timeout=2")
    staff = _staff()
    queued = _print(client, staff, [order_no], printer="gone")
    started = time.monotonic()
    run_burst(("labels",))
    assert time.monotonic() - started < 5
    job = _job(client, staff, queued["id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    assert "unreachable" in job["reason"]
    assert "label.printed" not in [topic for topic, _ in _topics(order_no)]
    run_burst(("labels",))
    assert _job(client, staff, queued["id"])["attempts"] == 1


def _spooled(stack: Stack) -> list[Path]:
    folder = stack.data_dir / "spool" / "HZ"
    return sorted(folder.glob("*.pdf")) if folder.exists() else []


def test_the_spool_printer_writes_one_file_per_job_and_reprints_are_audited(
    stack: Stack,
) -> None:
    order_nos = [place_order(i, "HZ")["order_no"] for i in range(1, 3)]
    client = TestClient(create_app())
    staff = _staff()
    first = _print(client, staff, order_nos)
    run_burst(("labels",))
    assert _job(client, staff, first["id"])["status"] == "sent"
    assert first["printer"] == "spool" and len(_spooled(stack)) == 1
    assert _spooled(stack)[0].read_bytes().count(b"/Type /Page\n") == 2
    response = client.post(f"/api/v1/print-jobs/{first['id']}/reprint", headers=auth(staff))
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["id"] != first["id"] and again["reprint_of"] == first["id"]
    run_burst(("labels",))
    assert _job(client, staff, again["id"])["status"] == "sent"
    assert len(_spooled(stack)) == 2
    topics = _topics(order_nos[0])
    assert [t for t, _ in topics].count("label.printed") == 1
    assert ("label.reprinted", "staff:test-staff") in topics
    shipment = client.get(f"/api/v1/shipments/{order_nos[0]}", headers=auth(api_key()))
    titles = [entry["title_en"] for entry in shipment.json()["timeline"]]
    assert "Label printed" in titles and "Label reprinted" in titles


def test_who_may_print_and_preview(stack: Stack) -> None:
    mine = place_order(1, "HZ", merchant=MERCHANT_A)["order_no"]
    theirs = place_order(2, "SH", merchant=MERCHANT_B)["order_no"]
    client = TestClient(create_app())
    staff_sh = api_key(Role.staff, warehouse_codes=("SH",))
    broker = api_key(Role.broker, warehouse_codes=("HZ",))
    body = {"order_nos": [mine]}
    assert client.post("/api/v1/print-jobs", json=body, headers=auth(staff_sh)).status_code == 404
    assert client.post("/api/v1/print-jobs", json=body, headers=auth(broker)).status_code == 403
    mixed = {"order_nos": [mine, theirs]}
    refused = client.post("/api/v1/print-jobs", json=mixed, headers=auth(api_key()))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "mixed_warehouses"
    job = _print(client, _staff(), [mine])
    assert client.get(f"/api/v1/print-jobs/{job['id']}", headers=auth(staff_sh)).status_code == 404
    for key, fmt in ((broker, "pdf"), (merchant_key(MERCHANT_A), "zpl")):
        png = client.get(f"/api/v1/shipments/{mine}/label.png?fmt={fmt}", headers=auth(key))
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert png.headers["content-type"] == "image/png"
    other = client.get(
        f"/api/v1/shipments/{mine}/label.png", headers=auth(merchant_key(MERCHANT_B))
    )
    assert other.status_code == 404


def test_the_sweeper_requeues_lost_jobs_and_fails_jobs_whose_worker_vanished(
    stack: Stack,
) -> None:
    order_nos = [place_order(i, "HZ")["order_no"] for i in (1, 2)]
    client = TestClient(create_app())
    staff = _staff()
    lost, stuck = (_print(client, staff, [no]) for no in order_nos)
    get_redis().delete(get_queue("labels").key)  # both rq jobs lost, as with a wiped Redis
    long_ago = utcnow() - timedelta(minutes=10)
    with session_scope() as session:
        session.execute(update(PrintJob).values(created_at=long_ago))
        claimed = update(PrintJob).where(col(PrintJob.id) == stuck["id"])
        session.execute(claimed.values(attempts=1, started_at=long_ago))
    assert sweep_print_jobs() == 2
    run_burst(("labels",))
    assert _job(client, staff, lost["id"])["status"] == "sent"
    failed = _job(client, staff, stuck["id"])
    assert failed["status"] == "failed" and "check the printer" in failed["reason"]
    assert sweep_print_jobs() == 0
