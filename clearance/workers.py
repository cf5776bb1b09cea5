"""The `clearway worker` process: an rq worker on every pipeline queue that outlives Redis
restarts, optionally firing the periodic jobs (receipt polling, sweeping)."""

from __future__ import annotations

import logging
import time

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from clearance.wiring import ticker, wire
from kit import queue as jobs
from kit.db import dispose_engines

log = logging.getLogger(__name__)
RECONNECT_S = 1.0


def _make(names: list[str], fork: bool) -> Worker | SimpleWorker:
    # A forking worker runs each job in a fresh child; kit.db keys engines by pid, so the child
    # opens its own connections instead of sharing the parent's sockets.
    klass = Worker if fork else SimpleWorker
    queues = [jobs.get_queue(name) for name in names]
    return klass(queues, connection=jobs.get_redis(), serializer=JSONSerializer)


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
            worker.work(burst=burst, logging_level="WARNING")
            if burst or _shutdown_requested(worker):
                return
            log.warning("worker left its loop (Redis gone?); reconnecting")
            time.sleep(RECONNECT_S)
            jobs.reset_connections()
            dispose_engines()
    finally:
        if periodic:
            periodic.stop()
