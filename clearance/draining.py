"""Draining jobs: one job takes everything pending from the database, batch after batch."""

from __future__ import annotations

from collections.abc import Callable

from kit import queue as jobs


def drain(queue: str, func: str, step: Callable[[], int], batch: int) -> int:
    """Run `step` (one transaction, returns how many it took) until it takes less than a batch.

    The job's once-flag is cleared only then, before one last pass: a relay while the job runs
    adds no second job (it was ~one job per relay, and rq costs ~10 ms a job), and whatever was
    committed before the flag went is still found by the last pass.
    """
    total = _until_short(step, batch)
    jobs.clear_once(queue, func)
    return total + _until_short(step, batch)


def _until_short(step: Callable[[], int], batch: int) -> int:
    total = 0
    while True:
        taken = step()
        total += taken
        if taken < batch:
            return total
