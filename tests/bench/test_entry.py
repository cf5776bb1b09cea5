"""`python -m bench`: runs the chosen parts on tiny inputs, skips parts not written yet."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

import bench.__main__ as entry
from bench import queue_bench
from bench.stack import REDIS_URL


def test_a_missing_part_is_skipped_with_a_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(entry.PARTS, "ghost", "bench.no_such_bench")
    assert entry.run_parts(["ghost"], repeat=1) == []
    assert "part ghost not available yet" in capsys.readouterr().err


@pytest.mark.production
def test_the_intake_part_produces_well_formed_rows() -> None:
    rows = entry.run_parts(["intake"], repeat=1, scale=0.02)
    by_name = {(r["part"], r["scenario"]): r for r in rows}
    assert ("intake", "bulk insert floor") in by_name
    for row in rows:
        assert row["median_per_s"] > 0 and row["spread"] >= 0
    assert by_name[("intake", "single (1 tx each)")]["x_floor"] > 0


@pytest.mark.production
def test_the_noop_floor_counts_jobs_between_first_start_and_last_end() -> None:
    redis = Redis.from_url(REDIS_URL)
    queue = queue_bench._queue(redis, f"bench-noop-test-{uuid.uuid4().hex[:6]}")
    try:
        assert queue_bench._enqueue_one_by_one(queue, 5) > 0
        assert queue_bench._enqueue_many(queue, 5) > 0
        SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
        assert queue_bench._processed_rate(redis, queue) > 0
    finally:
        queue_bench._drop(redis, queue.name)
