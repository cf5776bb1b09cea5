"""Receipts ingested per second on PostgreSQL with 1 and 2 `clearway worker` processes, beside
the same workers' rate for a no-op rq job (what a job costs before it does anything).

Each run seeds submitted cases, writes the receipts customs would send for them (about four
each) into a staging folder off the clock, moves the folder into place at once, enqueues one
ingest job per worker, and times until every receipt is stored."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.harness import Row, figure
from bench.stack import REDIS_URL, configure, drop_database, fresh_database, wipe_prefix
from clearance.gateway.exchange import gateway
from clearance.pipeline.jobs import INGEST
from clearance.pipeline.models import Receipt
from clearance.simulator.loadgen import receipts_for, seed_submitted_cases, write_receipts
from kit import queue as jobs
from kit.db import session_scope
from kit.migrate import upgrade
from warehouses.demo import seed_reference

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "clearway_bench_receipts"
NOOP = "bench.receipts_bench.noop"
CASES = 1000  # about 3,900 receipts per run at scale 1


def noop(*_ids: int) -> int:
    """The job that does nothing: its rate is rq's own floor with these workers."""
    return 0


def _stored() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def _stage(cases: int, run: str, staging: Path) -> int:
    """Seed cases and write their receipts into `staging` (off the clock); returns the count."""
    with session_scope() as session:
        seeded = seed_submitted_cases(session, cases, run=run)
    receipts = receipts_for(seeded, seed=len(run))
    write_receipts(staging, receipts)
    return len(receipts)


def _release(staging: Path) -> None:
    """Put every staged file into the receive folder in one rename, as a burst from customs."""
    receive = gateway().receive_dir
    if receive.exists():
        receive.rmdir()  # empty after the previous run
    receive.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, receive)


def _wait_until(check: Any, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark run did not finish")
        time.sleep(0.01)


def ingest_run(workers: int, cases: int, run: str, data_dir: Path) -> tuple[float, int]:
    """Receipts per second (and how many) for one burst worked off by `workers` processes."""
    staging = data_dir / f"staging-{run}"
    count = _stage(cases, run, staging)
    target = _stored() + count
    _release(staging)
    started = time.perf_counter()
    for _ in range(workers):
        jobs.enqueue("ingest", INGEST)
    _wait_until(lambda: _stored() >= target)
    return count / (time.perf_counter() - started), count


def noop_run(count: int) -> float:
    """No-op jobs per second through the same workers and queue."""
    queue = jobs.get_queue("ingest")
    finished = queue.finished_job_registry
    before = finished.count
    started = time.perf_counter()
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many([queue.prepare_data(NOOP, args=(i,)) for i in range(count)], pipe)
        pipe.execute()
    _wait_until(lambda: finished.count >= before + count)
    return count / (time.perf_counter() - started)


def _workers(count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "cli", "worker", "--queues", "ingest"]
    return [subprocess.Popen(command, cwd=ROOT, env={**os.environ}) for _ in range(count)]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)


def _measure(workers: int, repeat: int, cases: int, data_dir: Path) -> tuple[Row, Row]:
    procs = _workers(workers)
    try:
        noop_run(50)  # warm-up: workers up, imports done
        floor = figure([noop_run(300) for _ in range(repeat)], "jobs/s")
        ingest_run(workers, cases // 4, f"W{workers}warm", data_dir)
        runs = [ingest_run(workers, cases, f"W{workers}R{i}", data_dir) for i in range(repeat)]
    finally:
        _stop(procs)
    rates, counts = [rate for rate, _ in runs], [count for _, count in runs]
    # x_floor compares a receipt with a whole no-op job, as the floor is defined: below 1.00 means
    # batching (up to CLEARWAY_RECEIPT_BATCH files a job) costs a receipt less than rq costs a job.
    figures = figure(rates, "receipts/s", floor, receipts_per_run=max(counts), workers=workers)
    return figures, {**floor, "x_floor": 1.0}


def run(repeat: int = 3, scale: float = 1.0) -> dict[str, Row]:
    """Scenario → figures (median receipts/s with spread; no-op job floor per worker count)."""
    cases = max(50, int(CASES * scale))
    data_dir = Path(tempfile.mkdtemp(prefix="clearway-bench-receipts-"))
    prefix = f"cwbench-{uuid.uuid4().hex[:8]}"
    url = fresh_database(DATABASE)
    upgrade(url)
    configure(url, data_dir, prefix, REDIS_URL)
    os.environ["CLEARWAY_RECEIPT_BATCH"] = "500"
    # The bench writes whole files itself and enqueues the ingest jobs without a ticker: a file
    # left unclaimed to settle would never be polled again. Settling is a production guard for
    # a transfer client that writes slowly, not part of what is measured here.
    os.environ["CLEARWAY_RECEIPT_SETTLE_S"] = "0"
    results: dict[str, Row] = {}
    try:
        with session_scope() as session:
            seed_reference(session)
        for workers in (1, 2):
            ingest, floor = _measure(workers, repeat, cases, data_dir)
            results[f"ingest, {workers} worker{'s' if workers > 1 else ''}"] = ingest
            results[f"no-op rq job, {workers} worker{'s' if workers > 1 else ''}"] = floor
    finally:
        wipe_prefix(prefix)
        drop_database(DATABASE)
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(run(args.repeat, args.scale), indent=1))


if __name__ == "__main__":
    main()
