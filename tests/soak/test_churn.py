"""Kill -9 churn: two web processes and two workers on PostgreSQL and Redis, one of them killed
every few seconds for a minute while a wave of orders is taken in and scanned; afterwards every
order has exactly one case and one first filing, every case stands where its latest applied
receipt put it, and no event waits undispatched. Runs in `make soak`, not `make test`."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from clearance.pipeline.models import ClearanceCase, CustomsMessage, Receipt
from clearance.pipeline.state import state_for_status, status_rank
from kit.db import session_scope
from kit.outbox import Event
from tests.clearance.workers_harness import ROOT, free_port
from tests.conftest import Stack, make_stack
from tests.factories import api_key, auth, order_payload
from warehouses.models import Order

pytestmark = [pytest.mark.soak, pytest.mark.production]

MAX_ORDERS = int(os.environ.get("CLEARWAY_CHURN_ORDERS", "3000"))
CHURN_S = float(os.environ.get("CLEARWAY_CHURN_S", "60"))
KILL_EVERY_S = 4.0
SETTLE_S = 240.0  # after the churn, the bound for every parcel to reach `released`
SETTINGS = {
    "EMBEDDED_SIMULATOR": "false",
    "SWEEP_INTERVAL_S": "1",
    "SIMULATOR_REJECT_RATE": "0",
}


@pytest.fixture
def production(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    for key, value in SETTINGS.items():
        monkeypatch.setenv(f"CLEARWAY_{key}", value)
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=True)


@dataclass
class Fleet:
    """The processes of one deployment, by name; web ones serve on their own port."""

    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)

    def command(self, name: str) -> list[str]:
        base = [sys.executable, "-m", "cli"]
        if name in self.ports:
            return [*base, "serve", "--port", str(self.ports[name])]
        if name == "customs":
            return [*base, "customs-sim", "--delay", "0.05"]
        return [*base, "worker", *(["--with-scheduler"] if name == "worker-1" else [])]

    def start(self, name: str) -> None:
        log = subprocess.DEVNULL if name in self.ports else None
        self.procs[name] = subprocess.Popen(self.command(name), cwd=ROOT, stdout=log)

    def kill9(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        self.kills[name] += 1

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports.values()]


def _fleet() -> Fleet:
    fleet = Fleet(ports={"web-1": free_port(), "web-2": free_port()})
    for name in ("customs", "web-1", "web-2", "worker-1", "worker-2"):
        fleet.start(name)
    return fleet


def _churn(fleet: Fleet, stop: threading.Event) -> None:
    """Kill one web process or worker at random every few seconds and start it again."""
    rng = random.Random(1111)
    victims = ["web-1", "web-2", "worker-1", "worker-2"]
    while not stop.wait(KILL_EVERY_S):
        victim = rng.choice(victims)
        fleet.kill9(victim)
        time.sleep(rng.uniform(0.2, 1.5))
        fleet.start(victim)


def _send(urls: list[str], path: str, key: str, body: dict, idempotency: str) -> httpx.Response:
    """One logical request, retried on the other process until one answers it (bounded): the
    idempotency key or client scan id makes every retry the same request."""
    headers = {**auth(key), "Idempotency-Key": idempotency}
    deadline = time.monotonic() + 90
    for attempt in range(10_000):
        try:
            answer = httpx.post(urls[attempt % len(urls)] + path, json=body, headers=headers)
            if answer.status_code < 500:
                return answer
        except httpx.TransportError:
            pass  # that process was killed or is starting: the next one takes it
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    raise AssertionError(f"POST {path} {idempotency} never answered within 90 s")


def _wave(urls: list[str], key: str, until: float) -> list[str]:
    """Take in and scan orders until the churn ends (at most MAX_ORDERS), each retried with its
    idempotency key or scan id."""
    numbers = []
    for index in range(MAX_ORDERS):
        if time.monotonic() > until:
            break
        order = order_payload(index, "HZ")
        once = f"churn-{order['order_no']}"
        created = _send(urls, "/api/v1/orders", key, order, once)
        assert created.status_code in (200, 201), created.text
        scan = {"warehouse": "HZ", "station": "churn", "code": order["tracking_no"]}
        scanned = _send(urls, "/api/v1/scans", key, {**scan, "client_scan_id": once}, once)
        assert scanned.json()["outcome"] == "matched", scanned.text
        numbers.append(order["order_no"])
    return numbers


def _released() -> int:
    with session_scope() as session:
        query = select(func.count()).where(col(ClearanceCase.state) == "released")
        return session.scalar(query) or 0


def _wait_released(total: int) -> None:
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and _released() < total:
        time.sleep(1)
    assert _released() == total, f"{_released()} of {total} released {SETTLE_S:.0f} s after churn"


def _wait_ready(urls: list[str]) -> None:
    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{url} did not start"
            time.sleep(0.2)


def _cases_per_order() -> Counter[int | None]:
    """How many cases each order has (0 for an order without one)."""
    query = select(col(Order.id), col(ClearanceCase.id)).outerjoin(ClearanceCase)
    cases: Counter[int | None] = Counter()
    with session_scope() as session:
        for order_id, case_id in session.exec(query).all():
            cases[order_id] += case_id is not None
    return cases


def _first_filings() -> Counter[int]:
    query = select(col(CustomsMessage.case_id)).where(
        col(CustomsMessage.message_type) == "CEB621", col(CustomsMessage.app_type) == "1"
    )
    with session_scope() as session:
        return Counter(session.exec(query).all())


def _latest_applied() -> dict[int, int]:
    """Each case's furthest applied CEB622 status (customs' own order of precedence)."""
    query = select(col(Receipt.case_id), col(Receipt.return_status)).where(
        col(Receipt.outcome) == "applied", col(Receipt.message_type) == "CEB622"
    )
    latest: dict[int, int] = {}
    with session_scope() as session:
        for case_id, status in session.exec(query).all():
            if case_id is not None and status_rank(status) >= status_rank(latest.get(case_id)):
                latest[case_id] = status
    return latest


def _inconsistent_cases() -> list[tuple[int | None, str, int | None]]:
    latest = _latest_applied()
    with session_scope() as session:
        cases = session.scalars(select(ClearanceCase)).all()
    return [
        (case.id, case.state, latest.get(case.id or 0))
        for case in cases
        if case.last_status != latest.get(case.id or 0)
        or case.state != state_for_status(case.last_status or 0)
    ]


def _undispatched() -> int:
    with session_scope() as session:
        query = select(func.count()).where(col(Event.dispatched_at).is_(None))
        return session.scalar(query) or 0


def _wait_dispatched() -> int:
    deadline = time.monotonic() + 60
    while _undispatched() and time.monotonic() < deadline:
        time.sleep(0.5)
    return _undispatched()


def test_kill9_churn_loses_nothing(production: Stack) -> None:
    key = api_key()
    fleet = _fleet()
    stop = threading.Event()
    churner = threading.Thread(target=_churn, args=(fleet, stop), daemon=True)
    try:
        _wait_ready(fleet.urls)
        churner.start()
        numbers = _wave(fleet.urls, key, until=time.monotonic() + CHURN_S)
        stop.set()
        churner.join(30)
        assert sum(fleet.kills.values()) >= CHURN_S / KILL_EVERY_S / 2, fleet.kills
        _wait_released(len(numbers))
        assert set(_cases_per_order().values()) == {1}
        assert len(_cases_per_order()) == len(numbers)
        assert set(_first_filings().values()) == {1}
        assert _inconsistent_cases() == []
        assert _wait_dispatched() == 0
    finally:
        stop.set()
        fleet.stop_all()
