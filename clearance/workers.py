"""The `clearway worker` process: an rq worker on every pipeline queue that outlives Redis
restarts, optionally firing the periodic jobs (receipt polling, sweeping)."""

from __future__ import annotations

import logging
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from clearance.wiring import ticker, wire
from kit import queue as jobs
from kit.db import dispose_engines

log = logging.getLogger(__name__)
RECONNECT_S = 1.0
# rq doubles its wait while Redis is away; cap it so a restarted Redis is back in use quickly.
MAX_RECONNECT_WAIT_S = 5.0


def _make(names: list[str], fork: bool) -> Worker | SimpleWorker:
    # A forking worker runs each job in a fresh child; kit.db keys engines by pid, so the child
    # opens its own connections instead of sharing the parent's sockets.
    klass = Worker if fork else SimpleWorker
    queues = [jobs.get_queue(name) for name in names]
    worker = klass(queues, connection=jobs.get_redis(), serializer=JSONSerializer)
    worker.max_connection_wait_time = MAX_RECONNECT_WAIT_S
    return worker


def _shutdown_requested(worker: Worker | SimpleWorker) -> bool:
    """SIGTERM/SIGINT (rq records when) as against leaving the loop on a lost connection."""
    return bool(worker._stop_requested or getattr(worker, "_shutdown_requested_date", None))


def run_worker(names: list[str], *, with_scheduler: bool, burst: bool, fork: bool) -> None:
    """Work until stopped; when Redis goes away, reconnect and carry on (nothing is lost: the
    database holds the work and the sweeper re-enqueues it)."""
    wire()
    periodic = ticker().start() if with_scheduler else None
    try:
        while True:
            worker = _make(names, fork)
            try:
                worker.work(burst=burst, logging_level="WARNING")
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # rq's own teardown talks to Redis too; losing it there is not fatal.
                log.warning("Redis went away while the worker stopped: %s", exc)
            if burst or _shutdown_requested(worker):
                return
            log.warning("worker left its loop (Redis gone?); reconnecting")
            time.sleep(RECONNECT_S)
            jobs.reset_connections()
            dispose_engines()
    finally:
        if periodic:
            periodic.stop()
