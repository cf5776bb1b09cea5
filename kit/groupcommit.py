"""Group commit: units of work that arrive together run on one thread in one transaction.

A scan is a few indexed statements; what it costs on its own is the transaction around it (BEGIN,
COMMIT, a pooled connection, a session) and the hand-off to a thread. At peak many stations scan
at once, so the requests waiting at any moment share those costs. A unit that fails is re-run
alone, so it fails alone and its neighbours still land.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

from sqlmodel import Session

from kit.db import session_scope

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Job = tuple[T, Future[R]]


class GroupCommit(Generic[T, R]):
    """Runs `work(session, item)` for the items waiting together, in one transaction."""

    def __init__(
        self,
        work: Callable[[Session, T], R],
        *,
        max_batch: int = 64,
        guard: Callable[[], AbstractContextManager[object]] = nullcontext,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> None:
        self._work = work
        # Errors of a lost race (another process committed the same thing first): a unit that
        # failed alone with one is run once more, and then sees the winner's work.
        self._retry_on = retry_on
        self._max_batch = max_batch
        # Taken around each transaction (SQLite's single writer); may raise to refuse a batch.
        self._guard = guard
        self._jobs: queue.SimpleQueue[Job[T, R]] = queue.SimpleQueue()
        self._owner_pid: int | None = None
        self._start_lock = threading.Lock()

    async def run(self, item: T) -> R:
        """Queue `item` and wait for its result (or its own error)."""
        return await asyncio.wrap_future(self._submit(item))

    def call(self, item: T) -> R:
        """Like `run`, for a caller on a thread of its own (a simulation's stations)."""
        return self._submit(item).result()

    def _submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        self._ensure_thread()
        self._jobs.put((item, future))
        return future

    def _ensure_thread(self) -> None:
        if self._owner_pid == os.getpid():
            return
        with self._start_lock:
            if self._owner_pid != os.getpid():  # a forked child needs its own thread
                self._jobs = queue.SimpleQueue()
                name = f"group-commit-{getattr(self._work, '__name__', 'work')}"
                threading.Thread(target=self._loop, name=name, daemon=True).start()
                self._owner_pid = os.getpid()

    def _loop(self) -> None:
        while True:
            # A request cancelled before its turn (the client went away) is not run at all.
            batch = [job for job in self._take() if job[1].set_running_or_notify_cancel()]
            try:
                self._settle(batch)
            except Exception as exc:  # never lose the thread: every later request would hang
                log.exception("group commit could not settle a batch")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)

    def _take(self) -> Iterator[Job[T, R]]:
        yield self._jobs.get()
        for _ in range(self._max_batch - 1):
            try:
                yield self._jobs.get_nowait()
            except queue.Empty:
                return

    def _settle(self, batch: list[Job[T, R]]) -> None:
        if not batch:
            return
        try:
            with self._guard():
                self._commit(batch)
        except Exception as exc:  # only the guard raises here: nothing of the batch ran
            for _, future in batch:
                future.set_exception(exc)

    def _commit(self, batch: list[Job[T, R]], *, retry: bool = True) -> None:
        try:
            with session_scope() as session:
                results = [self._work(session, item) for item, _ in batch]
        except Exception as exc:
            self._alone(batch, exc, retry=retry)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _alone(self, batch: list[Job[T, R]], exc: Exception, *, retry: bool) -> None:
        """Re-run each unit of a failed batch on its own, so that only the failing one fails."""
        if len(batch) > 1:
            for job in batch:
                self._commit([job])
        elif retry and isinstance(exc, self._retry_on):
            self._commit(batch, retry=False)
        else:
            batch[0][1].set_exception(exc)
