"""The no-op rq job floor on real Redis: enqueue one by one or in a pipeline, and work them off
with 1 and 2 SimpleWorker processes (what every pipeline job pays before doing anything)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import datetime

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from bench.harness import Row, figure
from bench.stack import REDIS_URL

NOOP = "bench.queue_bench.noop"
JOBS = 600


def noop(*_ids: int) -> int:
    """The job that does nothing: its cost is rq's own."""
    return 0


def _queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis, serializer=JSONSerializer)


def _enqueue_one_by_one(queue: Queue, count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        queue.enqueue_call(NOOP, args=([index],))
    return count / (time.perf_counter() - started)


def _enqueue_many(queue: Queue, count: int) -> float:
    jobs = [Queue.prepare_data(NOOP, args=([index],)) for index in range(count)]
    started = time.perf_counter()
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    return count / (time.perf_counter() - started)


def _work(name: str, workers: int) -> None:
    """Burst `workers` SimpleWorker processes on queue `name` until it is empty."""
    command = [sys.executable, "-m", "bench.queue_bench", name]
    procs = [subprocess.Popen(command) for _ in range(workers)]
    for proc in procs:
        proc.wait(300)


def _processed_rate(redis: Redis, queue: Queue) -> float:
    """Jobs/s from the first job's start to the last job's end (excludes worker start-up)."""
    ids = FinishedJobRegistry(queue=queue).get_job_ids()
    jobs = [j for j in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if j]
    starts = [j.started_at for j in jobs if j.started_at]
    ends = [j.ended_at for j in jobs if j.ended_at]
    if not starts or not ends:
        return 0.0
    return len(jobs) / _seconds(min(starts), max(ends))


def _seconds(first: datetime, last: datetime) -> float:
    return max((last - first).total_seconds(), 1e-6)


def _one_round(redis: Redis, count: int, workers: int) -> tuple[float, float, float]:
    queue = _queue(redis, f"bench-noop-{uuid.uuid4().hex[:8]}")
    try:
        single = _enqueue_one_by_one(queue, count // 2)
        many = _enqueue_many(queue, count - count // 2)
        _work(queue.name, workers)
        return single, many, _processed_rate(redis, queue)
    finally:
        _drop(redis, queue.name)


def _drop(redis: Redis, name: str) -> None:
    """Delete this round's jobs by id (never by scanning every job in the Redis database)."""
    queue = _queue(redis, name)
    ids = set(queue.get_job_ids()) | set(FinishedJobRegistry(queue=queue).get_job_ids())
    for job in Job.fetch_many(list(ids), connection=redis, serializer=JSONSerializer):
        if job is not None:
            job.delete()
    for key in redis.scan_iter(f"rq:*{name}*"):
        redis.delete(key)


def run(repeat: int = 3, scale: float = 1.0) -> dict[str, Row]:
    """Jobs/s of no-op rq jobs: enqueue (single, pipelined) and processing with 1 and 2 workers."""
    redis = Redis.from_url(REDIS_URL)
    count = max(20, int(JOBS * scale))
    by_workers: dict[int, list[float]] = {1: [], 2: []}
    single, many = [], []
    for _ in range(repeat):
        for workers in (1, 2):
            one, pipelined, processed = _one_round(redis, count, workers)
            single.append(one)
            many.append(pipelined)
            by_workers[workers].append(processed)
    return {
        "enqueue one by one": figure(single, "jobs/s"),
        "enqueue_many (pipeline)": figure(many, "jobs/s"),
        "no-op job, 1 SimpleWorker": figure(by_workers[1], "jobs/s", items=count),
        "no-op job, 2 SimpleWorkers": figure(by_workers[2], "jobs/s", items=count),
    }


def main(name: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    worker = SimpleWorker([_queue(redis, name)], connection=redis, serializer=JSONSerializer)
    worker.work(burst=True, logging_level="WARNING")


if __name__ == "__main__":
    main(sys.argv[1])
