"""Nothing is lost: a worker killed mid-batch, Redis restarted mid-run, every receipt delivered
twice and shuffled, ten thousand receipt files at once. Each test counts what was lost (zero)
and compares final states with a clean run's."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clearance.gateway.exchange import gateway
from clearance.pipeline.jobs import ingest_receipts
from clearance.pipeline.models import Receipt
from clearance.simulator.loadgen import (
    expected_states,
    receipts_for,
    seed_submitted_cases,
    write_receipts,
)
from declarations.receipts import Receipt as Parsed
from kit import queue
from kit.db import session_scope
from kit.settings import get_settings
from tests.clearance.test_ingest import final_states
from tests.clearance.workers_harness import ROOT, ThrowawayRedis, start_workers, stop_workers
from tests.conftest import Stack, production_stack

pytestmark = [pytest.mark.slow, pytest.mark.production]


@pytest.fixture
def production(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    settings = {"CLAIM_DEAD_AFTER_S": "2", "RECEIPT_BATCH": "100", "SWEEP_INTERVAL_S": "1"}
    yield from production_stack(request, monkeypatch, tmp_path, settings)


def _seed(cases: int) -> list[Parsed]:
    with session_scope() as session:
        seeded = seed_submitted_cases(session, cases)
    return receipts_for(seeded)


def stored() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def _twice_shuffled(receipts: list[Parsed]) -> list[Parsed]:
    doubled = receipts + list(receipts)
    random.Random(1210).shuffle(doubled)
    return doubled


def _folders_empty() -> bool:
    exchange = gateway()
    claimed = exchange.claim_dir
    return not exchange.waiting() and not (claimed.exists() and any(claimed.iterdir()))


def _wait_all(total: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stored() >= total and _folders_empty():
            return
        time.sleep(0.2)
    raise AssertionError(
        f"stored {stored()} of {total} receipts; folders empty: {_folders_empty()}"
    )


def _wait_stored(at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stored() < at_least and time.monotonic() < deadline:
        time.sleep(0.02)


def test_worker_killed_mid_ingest_loses_nothing(production: Stack) -> None:
    receipts = _seed(260)
    assert len(receipts) >= 1000
    write_receipts(gateway().receive_dir, _twice_shuffled(receipts))
    workers = start_workers(2)
    try:
        _wait_stored(len(receipts) // 4)
        os.kill(workers[1].pid, signal.SIGKILL)
        at_kill = stored()
        _wait_all(len(receipts))
    finally:
        stop_workers(workers)
    lost = len(receipts) - stored()
    assert 0 < at_kill < len(receipts), "the kill must land mid-run"
    assert lost == 0
    assert final_states() == expected_states(receipts)


def test_redis_restarted_mid_run_loses_nothing(production: Stack, monkeypatch) -> None:
    redis = ThrowawayRedis().start()
    monkeypatch.setenv("CLEARWAY_REDIS_URL", redis.url)
    get_settings.cache_clear()
    queue.reset_connections()
    receipts = _seed(130)
    write_receipts(gateway().receive_dir, receipts)
    workers = start_workers(2)
    try:
        _wait_stored(len(receipts) // 4)
        redis.kill()
        at_restart = stored()
        time.sleep(1.0)
        redis.start()
        _wait_all(len(receipts))
    finally:
        stop_workers(workers)
        redis.kill()
        monkeypatch.setenv("CLEARWAY_REDIS_URL", production.redis_url or "")
        get_settings.cache_clear()
        queue.reset_connections()
    lost = len(receipts) - stored()
    assert at_restart < len(receipts), "Redis must go away mid-run"
    assert lost == 0
    assert final_states() == expected_states(receipts)


def test_ten_thousand_receipts_at_once(production: Stack) -> None:
    receipts = _seed(2560)
    assert len(receipts) >= 10_000
    folder: Path = gateway().receive_dir
    write_receipts(folder, receipts)
    totals = ingest_receipts()
    lost = len(receipts) - stored()
    assert lost == 0
    # Files are claimed in no particular order, so an older receipt may come after a newer one.
    assert set(totals) <= {"applied", "stale"} and sum(totals.values()) == len(receipts)
    assert final_states() == expected_states(receipts)
    assert _folders_empty()


def test_forking_worker_opens_its_own_connections(production: Stack) -> None:
    receipts = _seed(50)
    write_receipts(gateway().receive_dir, receipts)
    queue.enqueue("ingest", "clearance.pipeline.jobs.ingest_receipts")
    command = [sys.executable, "-m", "cli", "worker", "--fork", "--burst", "--queues", "ingest"]
    finished = subprocess.run(command, cwd=ROOT, env={**os.environ}, timeout=120, check=False)
    assert finished.returncode == 0
    assert len(receipts) - stored() == 0
    assert final_states() == expected_states(receipts)
