"""After-commit callbacks belong to the outermost transaction: a savepoint rolled back drops only
what it registered, and the outbox's relay kick is armed again after a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from kit import outbox
from kit.db import after_commit, get_engine
from tests.conftest import Stack


class Calls:
    def __init__(self) -> None:
        self.names: list[str] = []

    def of(self, name: str):
        return lambda: self.names.append(name)


def _touch(session: Session) -> None:
    session.execute(text("SELECT 1"))


def test_a_savepoint_rollback_keeps_the_outer_transactions_callbacks(stack: Stack):
    calls = Calls()
    with Session(get_engine()) as session:
        _touch(session)
        after_commit(session, calls.of("outer"))
        savepoint = session.begin_nested()
        after_commit(session, calls.of("inner"))
        savepoint.rollback()
        after_commit(session, calls.of("after"))
        session.commit()
    assert calls.names == ["outer", "after"]


def test_a_released_savepoints_callbacks_wait_for_the_outer_commit(stack: Stack):
    calls = Calls()
    with Session(get_engine()) as session:
        _touch(session)
        with session.begin_nested():
            after_commit(session, calls.of("inner"))
        assert calls.names == []  # released, not committed
        session.commit()
    assert calls.names == ["inner"]


def test_an_outer_rollback_drops_callbacks_of_released_savepoints(stack: Stack):
    calls = Calls()
    with Session(get_engine()) as session:
        _touch(session)
        with session.begin_nested():
            after_commit(session, calls.of("inner"))
        session.rollback()
        _touch(session)
        session.commit()
    assert calls.names == []


def test_a_session_closed_without_commit_runs_nothing_later(stack: Stack):
    calls = Calls()
    session = Session(get_engine())
    _touch(session)
    after_commit(session, calls.of("abandoned"))
    session.close()
    _touch(session)
    session.commit()
    assert calls.names == []


@pytest.fixture
def kicks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    kicked: list[int] = []
    monkeypatch.setattr(outbox, "_relay_kicker", lambda: kicked.append(1))
    return kicked


def _record(session: Session) -> None:
    outbox.record(session, "test.kick", ("order", 1), actor="test")


def test_a_commit_after_a_rollback_still_kicks_the_relay(stack: Stack, kicks: list[int]):
    with Session(get_engine()) as session:
        _record(session)
        session.rollback()
        _record(session)
        session.commit()
    assert kicks == [1]


def test_a_kick_armed_in_a_rolled_back_savepoint_is_armed_again(stack: Stack, kicks: list[int]):
    with Session(get_engine()) as session:
        _touch(session)
        savepoint = session.begin_nested()
        _record(session)
        savepoint.rollback()
        _record(session)
        session.commit()
    assert kicks == [1]


def test_one_transaction_kicks_the_relay_once(stack: Stack, kicks: list[int]):
    with Session(get_engine()) as session:
        for _ in range(3):
            _record(session)
        session.commit()
    assert kicks == [1]
