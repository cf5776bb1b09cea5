"""The HTTP edge under faults: a database or Redis away answers 503 + Retry-After, never 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisDown
from sqlalchemy.exc import OperationalError

from app import create_app
from kit import queue
from kit.auth import Role
from kit.settings import get_settings
from tests.browser import free_port, live_server
from tests.conftest import PG_ADMIN, Stack, make_stack
from tests.factories import api_key, auth

# How long the API may take to answer normally again once PostgreSQL is back.
RECOVERY_BOUND_S = 10.0


@pytest.fixture
def postgres(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=False)


def _point_at(monkeypatch: pytest.MonkeyPatch, name: str, url: str) -> None:
    monkeypatch.setenv(f"CLEARWAY_{name}", url)
    get_settings.cache_clear()
    queue.reset_connections()


def test_ready_says_both_are_up(stack: Stack) -> None:
    response = TestClient(create_app()).get("/ready")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


def test_ready_names_redis_when_it_is_down(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_at(monkeypatch, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    client = TestClient(create_app())
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(get_settings().retry_after_s)
    body = response.json()
    assert (body["database"], body["redis"], body["code"]) == ("ok", "down", "not_ready")
    assert body["message_zh"] and "field" in body
    assert client.get("/health").status_code == 200  # liveness does not depend on Redis


def test_ready_names_the_database_when_it_is_down(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, "DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    response = TestClient(create_app()).get("/ready")
    assert response.status_code == 503
    assert (response.json()["database"], response.json()["redis"]) == ("down", "ok")


def test_a_request_while_the_database_is_away_is_a_503_in_the_error_shape(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
    client = TestClient(create_app())
    _point_at(monkeypatch, "DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    response = client.get("/api/v1/warehouses/HZ/floor", headers=staff)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "code": "database_unavailable",
        "message": "the database is not reachable at the moment; try again shortly",
        "message_zh": "数据库暂不可用，请稍后重试",
        "field": None,
    }


def test_a_request_when_redis_is_away_is_a_503(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app()

    @app.get("/test-only/redis")
    def touches_redis() -> None:
        raise RedisDown("Connection refused")

    response = TestClient(app).get("/test-only/redis")
    assert response.status_code == 503
    assert response.json()["code"] == "redis_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_sqlite_still_locked_after_its_busy_timeout_is_a_503(embedded: Stack) -> None:
    app = create_app()

    @app.get("/test-only/locked")
    def locked() -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    @app.get("/test-only/broken")
    def broken() -> None:
        raise OperationalError("SELECT", {}, Exception("no such table: nowhere"))

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/test-only/locked").status_code == 503
    assert client.get("/test-only/broken").status_code == 500  # a fault is not "come back later"


def _terminate_backends(database_url: str) -> int:
    """What a PostgreSQL restart does to this test database's connections (only these)."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


class Traffic:
    """Threads reading and scanning against a live server, keeping every answer."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=url, headers=headers, timeout=30)
        self.answers: list[tuple[float, httpx.Response]] = []
        self.dropped: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(4)]

    def _request(self, index: int, turn: int) -> httpx.Response:
        if index % 2:
            return self.client.get("/api/v1/warehouses/HZ/floor")
        body = {"warehouse": "HZ", "station": f"s-{index}", "code": f"NOPE-{index}-{turn}"}
        return self.client.post("/api/v1/scans", json=body)

    def _run(self, index: int) -> None:
        turn = 0
        while not self.stop.is_set():
            turn += 1
            try:
                self.answers.append((time.monotonic(), self._request(index, turn)))
            except httpx.HTTPError as exc:  # a dropped connection is a failure, kept to report
                self.dropped.append(repr(exc))

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        self.client.close()


def test_postgresql_backends_cut_mid_traffic_answer_503_or_succeed_and_recover(
    postgres: Stack,
) -> None:
    staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
    with live_server() as url, Traffic(url, staff) as traffic:
        time.sleep(1.0)
        assert _terminate_backends(postgres.database_url) > 0
        cut_at = time.monotonic()
        time.sleep(2.0)
        _terminate_backends(postgres.database_url)
        time.sleep(RECOVERY_BOUND_S)
    assert traffic.dropped == []
    statuses = {response.status_code for _, response in traffic.answers}
    assert statuses <= {200, 503}, [r.text for _, r in traffic.answers if r.status_code >= 500]
    for _, response in traffic.answers:
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "5"
            assert response.json()["code"] == "database_unavailable"
            assert response.json()["message_zh"]
    settled = [r for at, r in traffic.answers if at > cut_at + 2.0 + RECOVERY_BOUND_S / 2]
    assert settled and {r.status_code for r in settled} == {200}
