"""The job queue: rq on Redis (REDIS_URL) or on an in-process fakeredis with a worker thread.

Jobs are named by dotted path and carry ids only (JSON-serialised); they are enqueued after the
transaction that made them necessary commits, so a rolled-back change never starts work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import fakeredis
from redis import Redis
from rq import Queue, Retry, SimpleWorker
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.utils import current_timestamp
from sqlmodel import Session

from kit.db import after_commit
from kit.settings import get_settings

log = logging.getLogger(__name__)

# A worker takes from the first non-empty queue: later stages come first, so a backlog of new
# work cannot starve the parcels already in flight (BENCHMARKS.md, the 11.11 simulation). Ship,
# the last stage, has a queue of its own: on the declare queue it waited behind declare drains
# while parcels that had left the gate stayed "released" for minutes.
QUEUE_NAMES = ("ship", "events", "ingest", "submit", "declare", "sweep", "labels", "webhooks")
JOB_TIMEOUTS = {
    "ship": 300,
    "events": 120,
    "declare": 300,
    "submit": 300,
    "ingest": 600,
    "sweep": 300,
    "labels": 120,
    "webhooks": 60,
}
RETRY_INTERVALS_S = (1, 5, 15, 60, 300)
# While Redis is away, waits between attempts double from the first to the cap: a long outage
# costs a few attempts a minute, a restarted Redis is back in use within the cap.
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 5.0
_fake_server: fakeredis.FakeServer | None = None
_connections: dict[str, Redis] = {}
_connecting = threading.Lock()


def get_redis() -> Redis:
    """The process's Redis connection: the real server, or the embedded stand-in."""
    url = get_settings().redis_url
    key = url or "embedded"
    connection = _connections.get(key)
    if connection is None:
        # Threads asking at once (a worker starting, a request) must share one embedded server.
        with _connecting:
            connection = _connections.get(key) or _connect(url)
            _connections[key] = connection
    return connection


def _connect(url: str | None) -> Redis:
    global _fake_server
    if url:
        return Redis.from_url(url)
    _fake_server = _fake_server or fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_fake_server)


def reset_connections() -> None:
    """Forget cached connections (tests switch Redis between set-ups; forked workers reconnect)."""
    global _fake_server
    with _connecting:
        _connections.clear()
        _fake_server = None


def queue_key(name: str) -> str:
    return f"{get_settings().queue_prefix}:{name}"


def get_queue(name: str) -> Queue:
    timeout = JOB_TIMEOUTS.get(name, 180)
    return Queue(
        queue_key(name), connection=get_redis(), serializer=JSONSerializer, default_timeout=timeout
    )


def _retry() -> Retry:
    # Due retries go back on their queue by `release_due_retries`, which the embedded worker
    # and every ticker run: rq's own scheduler is a forked process that a Redis error ends.
    return Retry(max=len(RETRY_INTERVALS_S), interval=list(RETRY_INTERVALS_S))


def enqueue(queue: str, func: str, *args: Any, job_id: str | None = None) -> None:
    """Put a job on a queue now; `func` is a dotted path, `args` ids or other JSON values."""
    get_queue(queue).enqueue_call(func, args=args, retry=_retry(), job_id=job_id)


def enqueue_after_commit(session: Session, queue: str, func: str, *args: Any) -> None:
    """Enqueue once `session` commits; nothing happens if it rolls back."""
    after_commit(session, lambda: enqueue(queue, func, *args))


def enqueue_once(queue: str, func: str, *, ttl_s: int = 60) -> bool:
    """Enqueue a parameterless job unless one is already pending; the job calls `clear_once`."""
    flag = f"{queue_key(queue)}:pending:{func}"
    if not get_redis().set(flag, "1", nx=True, ex=ttl_s):
        return False
    enqueue(queue, func)
    return True


def clear_once(queue: str, func: str) -> None:
    """Called first thing by a job enqueued with `enqueue_once`, so later work re-arms it."""
    get_redis().delete(f"{queue_key(queue)}:pending:{func}")


def release_due_retries(names: tuple[str, ...] = QUEUE_NAMES) -> int:
    """Put failed jobs whose retry time has come back on their queues; returns how many.

    Removing a job from the scheduled registry is its claim, so any number of processes may
    run this at once and each retry is enqueued once."""
    released = 0
    for name in names:
        queue = get_queue(name)
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(current_timestamp()):
            released += _release(queue, registry, job_id)
    return released


def _release(queue: Queue, registry: ScheduledJobRegistry, job_id: str) -> int:
    if not registry.remove(job_id):
        return 0
    job = queue.fetch_job(job_id)
    if job is None:
        return 0
    queue.enqueue_job(job)
    return 1


class Outage:
    """Capped exponential waits while Redis (or whatever `what` needs) is away, logged once
    when an outage starts and once when it ends, however long it lasts."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._wait_s: float | None = None

    def failed(self, exc: BaseException) -> float:
        """Seconds to wait before the next attempt."""
        if self._wait_s is None:
            log.warning("%s: %s; retrying until it is back", self.what, exc, exc_info=exc)
            self._wait_s = FIRST_RETRY_S
        else:
            self._wait_s = min(self._wait_s * 2, MAX_RETRY_S)
        return self._wait_s

    def recovered(self) -> None:
        if self._wait_s is not None:
            log.warning("%s: working again", self.what)
            self._wait_s = None


class _ThreadWorker(SimpleWorker):
    """An rq worker that runs inside a thread: no signal handlers, timer-based timeouts, and no
    command channel (rq's pubsub thread can take its 60 s poll to stop; nothing sends a thread
    worker commands)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None

    def subscribe(self) -> None:
        return None


def _thread_worker(queues: tuple[str, ...]) -> _ThreadWorker:
    return _ThreadWorker(
        [get_queue(name) for name in queues], connection=get_redis(), serializer=JSONSerializer
    )


class EmbeddedWorker:
    """Runs every queue's jobs on a background thread (the embedded default, and tests) with one
    long-lived rq worker, and puts due retries back on their queues."""

    def __init__(self, queues: tuple[str, ...] = QUEUE_NAMES, idle_sleep_s: float = 0.05) -> None:
        self.queues = queues
        self.idle_sleep_s = idle_sleep_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearway-worker", daemon=True)
        self._outage = Outage("embedded worker")
        self._retries_due_at = 0.0

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._work(_thread_worker(self.queues))
            except Exception as exc:
                self._stop.wait(self._outage.failed(exc))

    def _work(self, worker: _ThreadWorker) -> None:
        worker.bootstrap(logging_level="WARNING")
        try:
            while not self._stop.is_set():
                if not self._turn(worker):
                    self._stop.wait(self.idle_sleep_s)
        finally:
            worker.teardown()

    def _turn(self, worker: _ThreadWorker) -> bool:
        """Run one job if any is queued; True when one ran."""
        self._release_retries()
        found = worker.dequeue_job_and_maintain_ttl(None)
        self._outage.recovered()
        if found is None:
            return False
        worker.execute_job(*found)
        return True

    def _release_retries(self) -> None:
        if time.monotonic() >= self._retries_due_at:
            self._retries_due_at = time.monotonic() + RELEASE_EVERY_S
            release_due_retries(self.queues)


# Retries are scheduled in whole seconds; looking twice a second keeps each within a second.
RELEASE_EVERY_S = 0.5


def run_burst(queues: tuple[str, ...] = QUEUE_NAMES, max_jobs: int | None = None) -> bool:
    """Work every queue until empty in this thread; True when any job ran (tests, one-off runs)."""
    worker = _thread_worker(queues)
    return worker.work(burst=True, max_jobs=max_jobs, logging_level="WARNING")


class Ticker:
    """Fires periodic jobs (receipt polling, sweeping); one tick per period across all machines.
    It also puts due retries back on their queues, and waits out a Redis outage of any length."""

    def __init__(self) -> None:
        self.tasks: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearway-ticker", daemon=True)
        self._outage = Outage("ticker")

    def every(self, seconds: float, queue: str, func: str) -> Ticker:
        self.tasks.append((seconds, queue, func))
        return self

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        last: dict[str, float] = {}
        wait_s = TICK_S
        while not self._stop.wait(wait_s):
            try:
                self._tick(last)
            except Exception as exc:
                wait_s = self._outage.failed(exc)
            else:
                self._outage.recovered()
                wait_s = TICK_S

    def _tick(self, last: dict[str, float]) -> None:
        if time.monotonic() - last.get(RELEASE_RETRIES, 0.0) >= RELEASE_EVERY_S:
            release_due_retries()
            last[RELEASE_RETRIES] = time.monotonic()
        for period, queue, func in self.tasks:
            if time.monotonic() - last.get(func, 0.0) >= period:
                self._fire(queue, func, period)
                last[func] = time.monotonic()

    def _fire(self, queue: str, func: str, period: float) -> None:
        lock = f"{queue_key(queue)}:tick:{func}"
        if get_redis().set(lock, "1", nx=True, px=max(int(period * 1000), 100)):
            enqueue_once(queue, func, ttl_s=max(int(period * 4), 30))


TICK_S = 0.1
RELEASE_RETRIES = "release_due_retries"


def queue_depths() -> dict[str, dict[str, int]]:
    """Queued and failed job counts for every queue."""
    depths: dict[str, dict[str, int]] = {}
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        depths[name] = {"queued": queue.count, "failed": queue.failed_job_registry.count}
    return depths


Callback = Callable[[], None]


class Coalesced:
    """Runs `action` at most once per interval: calls inside it fold into one trailing run at its
    end, so the last call is never lost and a busy process sends Redis a few calls a second."""

    def __init__(self, action: Callable[[], object], interval_s: Callable[[], float]) -> None:
        self._action = action
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._trailing: threading.Timer | None = None

    def __call__(self) -> None:
        with self._lock:
            wait = self._last + self._interval_s() - time.monotonic()
            if wait > 0:
                self._arm_trailing(wait)
                return
            self._last = time.monotonic()
        self._action()

    def reset(self) -> None:
        """Forget the last run and cancel a pending trailing one (tests start clean)."""
        with self._lock:
            if self._trailing is not None:
                self._trailing.cancel()
            self._trailing = None
            self._last = float("-inf")

    def _arm_trailing(self, wait: float) -> None:
        if self._trailing is None:
            # Not a daemon: a process that exits inside the interval still makes its last call.
            self._trailing = threading.Timer(wait, self._run_trailing)
            self._trailing.start()

    def _run_trailing(self) -> None:
        with self._lock:
            self._trailing = None
            self._last = time.monotonic()
        try:
            self._action()
        except Exception:
            log.exception("coalesced call failed; the sweeper will redo its work")
