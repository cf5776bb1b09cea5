"""The `clearway worker` process: one long-lived rq worker on the pipeline queues that waits out
Redis outages of any length and stops within seconds of SIGTERM, optionally running the ticker
(receipt polling, sweeping, due retries)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

from clearance.pipeline.wiring import ticker, wire
from kit import queue as jobs

log = logging.getLogger(__name__)
# rq waits 60 s between polls of a worker's command channel, and its stop waits for the poll
# (redis-py 8.2 joins without a limit): SIGTERM took a minute. A short poll and a bounded join
# keep a stop within seconds; rq's pubsub error handler sleeps 2 s, hence the join's bound.
COMMAND_POLL_S = 0.5
COMMAND_STOP_S = 3.0
# rq doubles its wait while Redis is away; cap it so a restarted Redis is back in use quickly.
MAX_RECONNECT_WAIT_S = jobs.MAX_RETRY_S


def _subscribe(worker: BaseWorker) -> None:
    worker.pubsub = worker.connection.pubsub()
    worker.pubsub.subscribe(**{worker.pubsub_channel_name: worker.handle_payload})
    # rq declares the attribute as None until its own subscribe() sets it.
    worker.pubsub_thread = worker.pubsub.run_in_thread(  # type: ignore[assignment]
        sleep_time=COMMAND_POLL_S, daemon=True, exception_handler=worker._pubsub_exception_handler
    )


def _unsubscribe(worker: BaseWorker) -> None:
    thread = worker.pubsub_thread
    if thread is None:
        return
    # The thread closes its pubsub connection itself when it leaves its loop.
    thread.stop(timeout=COMMAND_STOP_S)
    if thread.is_alive():
        log.warning("worker %s: command channel still open at exit", worker.name)


class _StopAware(BaseWorker):
    """What both worker classes share, listed first among the bases so it comes before rq: a
    command channel with a short poll and a bounded stop, and stop signals that reach both rq
    and the process's stop event."""

    stopping: threading.Event

    def subscribe(self) -> None:
        _subscribe(self)

    def unsubscribe(self) -> None:
        _unsubscribe(self)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()
        super().request_stop(signum, frame)

    def _install_signal_handlers(self) -> None:
        # rq registers the worker (which is when others can see it) and opens its command
        # channel before it installs its own handlers; a SIGTERM in that window only reached
        # our handler, and the idle worker then waited on Redis for minutes. Hand it on.
        super()._install_signal_handlers()
        if self.stopping.is_set():
            self._stop_requested = True


class _ForkingWorker(_StopAware, Worker):
    pass


class _InlineWorker(_StopAware, SimpleWorker):
    pass


def _make(names: list[str], fork: bool, stopping: threading.Event) -> BaseWorker:
    # A forking worker runs each job in a fresh child; kit.db keys engines by pid, so the child
    # opens its own connections instead of sharing the parent's sockets.
    klass: type[_ForkingWorker | _InlineWorker] = _ForkingWorker if fork else _InlineWorker
    queues = [jobs.get_queue(name) for name in names]
    worker = klass(queues, connection=jobs.get_redis(), serializer=JSONSerializer)
    worker.stopping = stopping
    worker.max_connection_wait_time = MAX_RECONNECT_WAIT_S
    return worker


def _stop_on_signals(stopping: threading.Event) -> None:
    """Outside rq's work loop (starting, waiting for Redis) a signal only asks to stop."""

    def request(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request)
    signal.signal(signal.SIGINT, request)


def run_worker(names: list[str], *, with_scheduler: bool, burst: bool, fork: bool) -> None:
    """Work until stopped; when Redis goes away, wait for it and carry on (nothing is lost: the
    database holds the work and the sweeper re-enqueues it)."""
    wire()
    stopping = threading.Event()
    _stop_on_signals(stopping)
    periodic = ticker().start() if with_scheduler else None
    try:
        _work_until_stopped(names, burst=burst, fork=fork, stopping=stopping)
    finally:
        if periodic:
            periodic.stop()


def _work_until_stopped(
    names: list[str], *, burst: bool, fork: bool, stopping: threading.Event
) -> None:
    outage = jobs.Outage("worker")
    while not stopping.is_set():
        try:
            _work_once(_make(names, fork, stopping), burst, outage)
        except StopRequested:
            return
        except RedisError as exc:
            # rq's constructor and its teardown both talk to Redis.
            stopping.wait(outage.failed(exc))
            continue
        finally:
            _stop_on_signals(stopping)
        if burst:
            return
        if not stopping.is_set():
            # rq leaves its loop on an error it does not handle (Redis lost between two calls).
            stopping.wait(outage.failed(RuntimeError("the rq worker left its loop")))


def _work_once(worker: BaseWorker, burst: bool, outage: jobs.Outage) -> None:
    outage.recovered()
    worker.work(burst=burst, logging_level="WARNING")
