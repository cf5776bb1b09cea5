"""Draining jobs: one job takes everything pending from the database, batch after batch."""

from __future__ import annotations

import time
from collections.abc import Callable

from kit import queue as jobs

# A drain hands over to a fresh job after this long: well inside every queue's job timeout
# (kit.queue.JOB_TIMEOUTS, 60 s for webhooks), and other queues' jobs get the worker in between.
# In the 100,000-order run a declare drain fed by 270 scans/s never ran short and was killed
# at its 300 s timeout.
BUDGET_S = 45.0


def drain(
    queue: str, func: str, step: Callable[[], int], batch: int, budget_s: float = BUDGET_S
) -> int:
    """Run `step` (one transaction, returns how many it took) until it takes less than a batch.

    The job's once-flag is cleared only then, before one last step: a relay while the job runs
    adds no second job (it was ~one job per relay, and rq costs ~10 ms a job), and whatever was
    committed before the flag went is still found by the last step. A backlog left when the
    budget runs out, or found by the last step, goes to a fresh job. A step that fails clears
    the flag too, so the next relay or sweep starts a job at once instead of after its TTL.
    """
    deadline = time.monotonic() + budget_s
    try:
        total = _until_short(step, batch, deadline)
    finally:
        jobs.clear_once(queue, func)
    last = step()
    if last >= batch or time.monotonic() > deadline:
        jobs.enqueue_once(queue, func)
    return total + last


def _until_short(step: Callable[[], int], batch: int, deadline: float) -> int:
    total = 0
    while time.monotonic() <= deadline:
        taken = step()
        total += taken
        if taken < batch:
            break
    return total
