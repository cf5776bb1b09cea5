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
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
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
_fake_server: fakeredis.FakeServer | None = None
_connections: dict[str, Redis] = {}


def get_redis() -> Redis:
    """The process's Redis connection: the real server, or the embedded stand-in."""
    global _fake_server
    url = get_settings().redis_url
    key = url or "embedded"
    if key not in _connections:
        if url:
            _connections[key] = Redis.from_url(url)
        else:
            _fake_server = _fake_server or fakeredis.FakeServer()
            _connections[key] = fakeredis.FakeRedis(server=_fake_server)
    return _connections[key]


def reset_connections() -> None:
    """Forget cached connections (tests switch Redis between set-ups; forked workers reconnect)."""
    global _fake_server
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
    if get_settings().embedded_queue:
        return Retry(max=3)
    return Retry(max=5, interval=[1, 5, 15, 60, 300])


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


class _ThreadWorker(SimpleWorker):
    """An rq worker that runs inside a thread: no signal handlers, timer-based timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None


class EmbeddedWorker:
    """Runs every queue's jobs on a background thread (the embedded default, and tests)."""

    def __init__(self, queues: tuple[str, ...] = QUEUE_NAMES, idle_sleep_s: float = 0.05) -> None:
        self.queues = queues
        self.idle_sleep_s = idle_sleep_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearway-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = run_burst(self.queues)
            except Exception:
                log.exception("embedded worker loop failed; retrying")
                worked = False
            if not worked:
                self._stop.wait(self.idle_sleep_s)


def run_burst(queues: tuple[str, ...] = QUEUE_NAMES, max_jobs: int | None = None) -> bool:
    """Work every queue until empty in this thread; True when any job ran."""
    worker = _ThreadWorker(
        [get_queue(name) for name in queues],
        connection=get_redis(),
        serializer=JSONSerializer,
    )
    return worker.work(burst=True, max_jobs=max_jobs, logging_level="WARNING")


class Ticker:
    """Fires periodic jobs (receipt polling, sweeping); one tick per period across all machines."""

    def __init__(self) -> None:
        self.tasks: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearway-ticker", daemon=True)

    def every(self, seconds: float, queue: str, func: str) -> Ticker:
        self.tasks.append((seconds, queue, func))
        return self

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last: dict[str, float] = {}
        while not self._stop.wait(0.1):
            for period, queue, func in self.tasks:
                if time.monotonic() - last.get(func, 0.0) >= period:
                    last[func] = time.monotonic()
                    self._fire(queue, func, period)

    def _fire(self, queue: str, func: str, period: float) -> None:
        lock = f"{queue_key(queue)}:tick:{func}"
        try:
            if get_redis().set(lock, "1", nx=True, px=max(int(period * 1000), 100)):
                enqueue_once(queue, func, ttl_s=max(int(period * 4), 30))
        except Exception:
            log.exception("ticker could not enqueue %s", func)


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
