"""Test set-ups: SQLite and PostgreSQL databases, the embedded queue or a real Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import clearance.gateway.models  # registers tables, as do the imports below
import clearance.pipeline.models
import clearance.webhooks.models  # noqa: F401
import kit.auth  # noqa: F401
import warehouses.models  # noqa: F401
from clearance.simulator.customs import CustomsSimulator
from kit import outbox, queue
from kit.auth import forget_principals
from kit.db import dispose_engines, get_engine, session_scope
from kit.migrate import upgrade
from kit.settings import get_settings
from warehouses.demo import seed_reference

PG_ADMIN = os.environ.get("CLEARWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLEARWAY_TEST_REDIS", "redis://127.0.0.1:6379/0")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


BACKGROUND_THREADS = ("clearway-worker", "clearway-ticker")
# A stopped worker or ticker ends within its join bound; only past this is it left running.
LEAK_GRACE_S = 30.0


def reset_module_state() -> None:
    """Forget what modules keep between calls: the relay kicker's timer, cached settings and
    principals, database engines and queue connections."""
    outbox.reset_relay_kicker()
    forget_principals()
    get_settings.cache_clear()
    dispose_engines()
    queue.reset_connections()


def _background_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name in BACKGROUND_THREADS}


def _still_running(threads: set[threading.Thread]) -> list[str]:
    deadline = time.monotonic() + LEAK_GRACE_S
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    return sorted(thread.name for thread in threads if thread.is_alive())


@pytest.fixture(autouse=True)
def fresh_module_state() -> Iterator[None]:
    """Each test starts from fresh module state and must stop every worker or ticker it starts."""
    reset_module_state()
    before = _background_threads()
    yield
    leaked = _still_running(_background_threads() - before)
    reset_module_state()
    if leaked:
        pytest.fail(f"the test left background threads running: {leaked}")


@dataclass
class Stack:
    """One configured set-up: database URL, Redis (or embedded), and the data folder."""

    backend: str
    database_url: str
    redis_url: str | None
    data_dir: Path
    prefix: str


def _pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg(name: str) -> None:
    dispose_engines()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A migrated SQLite file and a migrated PostgreSQL database for this test process."""
    name = f"clearway_test_{WORKER}_{uuid.uuid4().hex[:8]}"
    sqlite = f"sqlite:///{tmp_path_factory.mktemp('db') / 'clearway.db'}"
    urls = {"sqlite": sqlite, "postgresql": _pg_database(name)}
    for url in urls.values():
        upgrade(url)
    yield urls
    _drop_pg(name)


def _configure(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> None:
    values = {
        "DATABASE_URL": stack.database_url,
        "DATA_DIR": str(stack.data_dir),
        "QUEUE_PREFIX": stack.prefix,
        "SIMULATOR_DELAY_S": "0.05",
        "RECEIPT_POLL_S": "0.1",
        "RELAY_GRACE_S": "2",
        # Tests write receipt files whole; the tests of slow writers set their own.
        "RECEIPT_SETTLE_S": "0",
        "UNREADABLE_GRACE_S": "0",
        # PostgreSQL and Redis make a production set-up, which refuses a weak secret key.
        "SECRET_KEY": f"test-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}",
    }
    for key, value in values.items():
        monkeypatch.setenv(f"CLEARWAY_{key}", value)
    if stack.redis_url:
        monkeypatch.setenv("CLEARWAY_REDIS_URL", stack.redis_url)
    else:
        monkeypatch.delenv("CLEARWAY_REDIS_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    queue.reset_connections()


def _wipe(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())


def _wipe_redis(prefix: str) -> None:
    redis = queue.get_redis()
    for key in redis.scan_iter(f"*{prefix}*"):
        redis.delete(key)


def make_stack(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    backend: str,
    redis: bool,
) -> Iterator[Stack]:
    urls = request.getfixturevalue("database_urls")
    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    stack = Stack(backend, urls[backend], REDIS_URL if redis else None, tmp_path / "data", prefix)
    _configure(monkeypatch, stack)
    _wipe(stack.database_url)
    with session_scope() as session:
        seed_reference(session)
    yield stack
    if redis:
        _wipe_redis(prefix)
    dispose_engines()
    queue.reset_connections()
    get_settings.cache_clear()


def production_stack(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    settings: dict[str, str],
) -> Iterator[Stack]:
    """PostgreSQL and a real Redis, with CLEARWAY_* `settings` laid on top (fault tests)."""
    for key, value in settings.items():
        monkeypatch.setenv(f"CLEARWAY_{key}", value)
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Stack]:
    """Seeded reference data on SQLite and on PostgreSQL, with the embedded queue."""
    yield from make_stack(request, monkeypatch, tmp_path, request.param, redis=False)


@pytest.fixture
def embedded(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Stack]:
    """Seeded reference data on SQLite with the embedded queue: the `make run` set-up."""
    yield from make_stack(request, monkeypatch, tmp_path, "sqlite", redis=False)


class Customs:
    """The customs simulator on its own thread, answering whatever reaches the send folder."""

    def __init__(self) -> None:
        settings = get_settings()
        self.sim = CustomsSimulator(settings.send_dir, settings.receive_dir, delay_s=0.05)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sim.run, args=(self.stop, 0.02), daemon=True)

    def __enter__(self) -> Customs:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)
