"""The queue's workers: one long-lived rq worker per thread, no command-channel thread to hang
its stop, and failed jobs retried by themselves on the embedded queue and on real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from redis.client import PubSubWorkerThread
from rq.job import Job
from rq.serializers import JSONSerializer

from kit import queue
from kit.queue import EmbeddedWorker, Ticker
from tests.conftest import Stack, make_stack

FAILS_ONCE = "tests.kit.test_queue.fails_once"
WRITES = "tests.kit.test_queue.writes"
# Generous: the first retry is due 1 s after the failure; a loaded machine may take longer.
RECOVERY_S = 20.0


def fails_once(marker: str) -> None:
    """A job whose first run meets a transient fault; the file remembers it across processes."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("a transient fault")
    path.write_text("done")


def writes(marker: str) -> None:
    Path(marker).write_text("done")


def _done(marker: Path) -> bool:
    return marker.exists() and marker.read_text() == "done"


def wait_for(condition: Callable[[], bool], timeout_s: float = RECOVERY_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s"
        time.sleep(0.05)


@pytest.fixture
def real_redis(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "sqlite", redis=True)


def _retried_by_itself(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    worker = EmbeddedWorker().start()
    try:
        queue.enqueue("labels", FAILS_ONCE, str(marker))
        wait_for(lambda: _done(marker))
    finally:
        worker.stop()
    assert queue.get_queue("labels").failed_job_registry.count == 0


def test_a_job_that_fails_once_is_retried_on_the_embedded_queue(embedded: Stack, tmp_path):
    _retried_by_itself(tmp_path)


def test_a_job_that_fails_once_is_retried_on_real_redis(real_redis: Stack, tmp_path):
    _retried_by_itself(tmp_path)


def test_the_ticker_puts_due_retries_back_on_their_queue(real_redis: Stack, tmp_path):
    marker = tmp_path / "marker"
    marker.write_text("failed once")
    labels = queue.get_queue("labels")
    labels.enqueue_at(datetime.now(UTC), FAILS_ONCE, str(marker))
    ticker = Ticker().start()
    try:
        wait_for(lambda: labels.count == 1)
    finally:
        ticker.stop()
    assert labels.scheduled_job_registry.count == 0
    assert queue.run_burst(("labels",)) and _done(marker)


def _worker_of(job: Job) -> str | None:
    return Job.fetch(job.id, connection=queue.get_redis(), serializer=JSONSerializer).worker_name


def _command_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if isinstance(thread, PubSubWorkerThread)]


def test_one_rq_worker_serves_the_thread_across_idle_spells(real_redis: Stack, tmp_path):
    labels = queue.get_queue("labels")
    worker = EmbeddedWorker().start()
    try:
        first = labels.enqueue_call(WRITES, args=(str(tmp_path / "1"),))
        wait_for(lambda: _done(tmp_path / "1"))
        time.sleep(0.5)  # idle turns: the old loop built and tore down a worker on each
        second = labels.enqueue_call(WRITES, args=(str(tmp_path / "2"),))
        wait_for(lambda: _done(tmp_path / "2"))
        assert _command_threads() == []
    finally:
        worker.stop()
    assert _worker_of(first) == _worker_of(second) is not None


def test_the_embedded_worker_stops_every_time_it_is_asked(real_redis: Stack, tmp_path):
    for attempt in range(5):
        worker = EmbeddedWorker().start()
        marker = tmp_path / str(attempt)
        queue.enqueue("labels", WRITES, str(marker))
        wait_for(partial(_done, marker))
        worker.stop()  # joins for at most 30 s
        assert not worker.is_alive(), f"stop {attempt + 1} of 5 did not end the thread"
