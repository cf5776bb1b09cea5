"""A draining job never outlives its budget: a backlog that keeps coming goes to a fresh job."""

from __future__ import annotations

import pytest

from clearance.pipeline.draining import drain
from kit import queue
from tests.conftest import Stack

FUNC = "clearance.pipeline.jobs.declare_pending"


def _queued() -> list[str | None]:
    return [job.func_name for job in queue.get_queue("declare").get_jobs()]


def test_a_backlog_that_outlasts_the_budget_is_handed_to_a_fresh_job(stack: Stack):
    queue.enqueue_once("declare", FUNC)  # as the job now running was (it stays listed here)
    steps: list[int] = []

    def always_full() -> int:
        steps.append(10)
        return 10

    taken = drain("declare", FUNC, always_full, batch=10, budget_s=0.05)
    assert taken == sum(steps) and len(steps) >= 2
    assert _queued() == [FUNC, FUNC]  # a fresh job takes over the backlog


def test_a_drain_that_runs_short_clears_its_flag_and_queues_nothing(stack: Stack):
    queue.enqueue_once("declare", FUNC)
    counts = iter([10, 10, 3, 0])
    assert drain("declare", FUNC, lambda: next(counts), batch=10) == 23
    assert _queued() == [FUNC]  # only the one that ran
    assert queue.enqueue_once("declare", FUNC)  # the flag is clear: the next relay can start one


def test_a_failed_step_clears_the_flag_so_the_next_relay_starts_a_job(stack: Stack):
    assert queue.enqueue_once("declare", FUNC)  # the job now running

    def database_restarted() -> int:
        raise ConnectionError("server closed the connection unexpectedly")

    with pytest.raises(ConnectionError):
        drain("declare", FUNC, database_restarted, batch=10)
    assert queue.enqueue_once("declare", FUNC)  # not blocked for the flag's 60 s
    assert _queued() == [FUNC, FUNC]
