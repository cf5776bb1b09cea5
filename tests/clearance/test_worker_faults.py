"""`clearway worker` under faults: it stops within seconds of SIGTERM, idle or busy, again and
again; it waits out a Redis outage of any length and carries on; failed jobs retry by themselves."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from rq import Worker
from sqlmodel import select

from clearance.pipeline.workers import _make
from kit import outbox, queue
from kit.db import session_scope
from kit.settings import get_settings
from tests.clearance.workers_harness import ThrowawayRedis, start_workers, stop_workers
from tests.conftest import Stack, make_stack
from tests.kit.test_queue import FAILS_ONCE, WRITES, wait_for

STOP_BOUND_S = 5.0
# Starting a worker process imports the whole application: generous on a loaded machine.
START_BOUND_S = 60.0
# After Redis returns: the capped reconnect wait (5 s), a sweep period, a job; generous.
RECOVERY_S = 45.0
NAP = "tests.clearance.test_worker_faults.nap"


def nap(seconds: float) -> None:
    """A short job that keeps a worker busy."""
    time.sleep(seconds)


@pytest.fixture
def production(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=True)


def _registered(count: int) -> bool:
    return len(Worker.all(queue=queue.get_queue("labels"))) >= count


def _stop_time(proc: subprocess.Popen[bytes]) -> float:
    """Seconds from SIGTERM to exit (None waits at most twice the bound, then kills)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_BOUND_S * 2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    return time.monotonic() - started


def _stop_round(busy: bool) -> list[float]:
    workers = start_workers(2)
    try:
        wait_for(lambda: _registered(2), START_BOUND_S)
        if busy:
            for _ in range(40):
                queue.enqueue("labels", NAP, 0.3)
            wait_for(lambda: queue.get_queue("labels").started_job_registry.count >= 2)
        return [_stop_time(proc) for proc in workers]
    finally:
        stop_workers(workers)


@pytest.mark.production
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_a_worker_stops_within_seconds_of_sigterm_every_time(production: Stack, busy: bool):
    for attempt in range(5):
        times = _stop_round(busy)
        assert max(times) < STOP_BOUND_S, f"stop {attempt + 1} of 5 took {times} s"


@pytest.mark.production
def test_a_failed_job_is_retried_by_the_worker_processes(production: Stack, tmp_path):
    marker = tmp_path / "marker"
    workers = start_workers(2)
    try:
        queue.enqueue("labels", FAILS_ONCE, str(marker))
        wait_for(lambda: marker.exists() and marker.read_text() == "done", START_BOUND_S)
    finally:
        stop_workers(workers)


def _record_event() -> int:
    with session_scope() as session:
        return outbox.record(session, "test.redis-outage", ("order", 1), actor="test")


def _dispatched(event_id: int) -> bool:
    with session_scope() as session:
        event = session.scalars(select(outbox.Event).where(outbox.Event.id == event_id)).one()
        return event.dispatched_at is not None


@pytest.fixture
def throwaway_redis(production: Stack, monkeypatch) -> Iterator[ThrowawayRedis]:
    redis = ThrowawayRedis().start()
    monkeypatch.setenv("CLEARWAY_REDIS_URL", redis.url)
    monkeypatch.setenv("CLEARWAY_SWEEP_INTERVAL_S", "1")
    get_settings.cache_clear()
    queue.reset_connections()
    yield redis
    redis.kill()
    monkeypatch.setenv("CLEARWAY_REDIS_URL", production.redis_url or "")
    get_settings.cache_clear()
    queue.reset_connections()  # the stack's own clean-up wipes the shared Redis


@pytest.mark.production
def test_workers_wait_out_a_ten_second_redis_outage(throwaway_redis: ThrowawayRedis, tmp_path):
    workers = start_workers(2)
    try:
        wait_for(lambda: _registered(2), START_BOUND_S)
        for _ in range(20):
            queue.enqueue("labels", NAP, 0.3)
        # Busy: a job ending while Redis is away takes rq out of its loop (idle, it retries).
        wait_for(lambda: queue.get_queue("labels").started_job_registry.count >= 2)
        throwaway_redis.kill()
        stranded = _record_event()  # committed while Redis is away: its relay kick is lost
        time.sleep(10)
        throwaway_redis.start()  # same port, empty: every queued job is gone
        assert [proc.poll() for proc in workers] == [None, None], "a worker exited"
        queue.enqueue("labels", WRITES, str(tmp_path / "after"))
        wait_for(lambda: (tmp_path / "after").exists(), RECOVERY_S)
        wait_for(lambda: _dispatched(stranded), RECOVERY_S)  # the sweeper relayed it
        assert [proc.poll() for proc in workers] == [None, None], "a worker exited"
    finally:
        stop_workers(workers)


@pytest.mark.parametrize("fork", [False, True], ids=["inline", "forking"])
def test_a_stop_signalled_before_rq_installs_its_handlers_still_stops_the_worker(
    embedded: Stack, fork: bool
) -> None:
    # rq makes the worker visible (register_birth) before it installs its signal handlers: a
    # SIGTERM then reached only the process's stop event, and the idle worker went on to wait
    # on Redis. The signal is simulated by setting that event before the work loop starts.
    stopping = threading.Event()
    stopping.set()
    worker = _make(["labels"], fork, stopping)
    dequeued: list[object] = []

    def dequeue(*args: object) -> None:
        dequeued.append(args)
        raise AssertionError("dequeued after a stop was requested")

    worker.dequeue_job_and_maintain_ttl = dequeue  # type: ignore[method-assign,assignment]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.work(burst=False, logging_level="WARNING")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert dequeued == []
