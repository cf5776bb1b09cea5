"""Group commit shares a transaction among waiting units, and a failing unit fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kit.db import session_scope
from kit.errors import Conflict
from kit.groupcommit import GroupCommit
from tests.conftest import Stack

TABLE = "test_group_commit"


@pytest.fixture
def table(stack: Stack) -> Iterator[None]:
    with session_scope() as session:
        session.execute(text(f"CREATE TABLE {TABLE} (value INTEGER PRIMARY KEY)"))
    yield
    with session_scope() as session:
        session.execute(text(f"DROP TABLE {TABLE}"))


def _insert(session: Session, value: int) -> int:
    session.execute(text(f"INSERT INTO {TABLE} (value) VALUES (:v)"), {"v": value})
    return value * 10


def _stored() -> list[int]:
    with session_scope() as session:
        return sorted(session.execute(text(f"SELECT value FROM {TABLE}")).scalars())


async def _gather(group: GroupCommit[int, int], values: list[int]) -> list[int | BaseException]:
    return await asyncio.gather(*(group.run(v) for v in values), return_exceptions=True)


def _held_group() -> tuple[GroupCommit[int, int], threading.Event, list[int]]:
    """A group whose first transaction waits for a signal, so later units queue up behind it;
    the list counts its transactions (the guard is taken once around each)."""
    release, transactions = threading.Event(), []

    @contextmanager
    def guard() -> Iterator[None]:
        release.wait(5)
        transactions.append(1)
        yield

    return GroupCommit(_insert, guard=guard), release, transactions


def test_waiting_units_share_one_transaction_and_each_gets_its_result(table):
    group, release, transactions = _held_group()

    async def scenario() -> list[int | BaseException]:
        first = asyncio.ensure_future(group.run(1))
        await asyncio.sleep(0.05)
        rest = asyncio.ensure_future(_gather(group, [2, 3, 4]))
        await asyncio.sleep(0.05)
        release.set()
        return [await first, *await rest]

    assert asyncio.run(scenario()) == [10, 20, 30, 40]
    assert _stored() == [1, 2, 3, 4]
    assert len(transactions) == 2  # the first alone, the three that waited behind it together


def test_a_failing_unit_fails_alone_and_its_neighbours_land(table):
    group, release, _ = _held_group()
    release.set()

    async def scenario() -> list[int | BaseException]:
        await group.run(7)
        return await _gather(group, [5, 7, 6])  # 7 breaks the primary key

    first, duplicate, last = asyncio.run(scenario())
    assert (first, last) == (50, 60)
    assert isinstance(duplicate, Exception)
    assert _stored() == [5, 6, 7]


def test_a_refusing_guard_fails_the_batch_without_running_it(table):
    def refuse() -> Iterator[None]:
        raise Conflict("busy", "the embedded database is busy — scan again")
        yield  # pragma: no cover

    group: GroupCommit[int, int] = GroupCommit(_insert, guard=contextmanager(refuse))
    results = asyncio.run(_gather(group, [1, 2]))
    assert all(isinstance(r, Conflict) for r in results)
    assert _stored() == []


def test_a_unit_that_lost_a_race_is_run_once_more_and_sees_the_winner(table):
    with session_scope() as session:
        _insert(session, 3)  # what the other process committed while this one looked away
    attempts: list[int] = []

    def insert_unless_there(session: Session, value: int) -> int:
        attempts.append(value)
        query = text(f"SELECT value FROM {TABLE} WHERE value = :v")
        found = session.execute(query, {"v": value}).first()
        if len(attempts) > 1 and found is not None:
            return -value  # the winner's work, answered as a replay
        return _insert(session, value)

    group = GroupCommit(insert_unless_there, retry_on=(IntegrityError,))
    assert asyncio.run(group.run(3)) == -3
    assert attempts == [3, 3]
    assert _stored() == [3]


def test_callers_on_threads_of_their_own_get_their_own_results(table):
    group: GroupCommit[int, int] = GroupCommit(_insert)
    results: dict[int, int] = {}

    def station(value: int) -> None:
        results[value] = group.call(value)

    threads = [threading.Thread(target=station, args=(v,)) for v in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {v: v * 10 for v in range(1, 9)}
    assert _stored() == list(range(1, 9))
