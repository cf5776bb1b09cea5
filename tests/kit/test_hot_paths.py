"""Hot-path helpers: prepared statements on the driver, and coalesced relay kicks."""

from __future__ import annotations

import threading
import time

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import col

from kit.db import HotStatement, session_scope
from kit.outbox import Event, record, utcnow
from kit.queue import Coalesced
from tests.conftest import Stack

_BY_TOPIC = HotStatement(
    select(col(Event.id), col(Event.payload), col(Event.occurred_at)).where(
        col(Event.topic) == bindparam("topic")
    )
)
_RETOPIC = HotStatement(
    update(Event).where(col(Event.topic) == bindparam("wanted")).values(actor="renamed")
)


def test_hot_statements_read_and_write_like_core_on_both_databases(stack: Stack):
    with session_scope() as session:
        first = record(session, "t.hot", ("order", 1), actor="a", payload={"w": "1.5", "n": [1]})
        second = record(session, "t.hot", ("order", 2), actor="a")
    with session_scope() as session:
        rows = _BY_TOPIC.rows(session, {"topic": "t.hot"})
        assert [row[0] for row in rows] == [first, second]
        assert rows[0][1] == {"w": "1.5", "n": [1]}
        assert _RETOPIC.rowcount(session, {"wanted": "t.hot"}) == 2
        assert _BY_TOPIC.scalar(session, {"topic": "nothing"}) is None
    with session_scope() as session:
        actors = session.scalars(select(col(Event.actor)).where(col(Event.topic) == "t.hot"))
        assert set(actors) == {"renamed"}


def test_a_statement_with_its_own_values_keeps_them(stack: Stack):
    statement = HotStatement(
        insert(Event)
        .values(topic="t.fixed", subject_type="order", actor="x", payload={"fixed": True})
        .values(subject_id=bindparam("subject"), occurred_at=bindparam("at"))
        .returning(col(Event.id))
    )
    with session_scope() as session:
        event_id = statement.scalar(session, {"subject": 9, "at": utcnow()})
        event = session.get(Event, event_id)
        assert event is not None
        assert (event.topic, event.subject_id, event.payload) == ("t.fixed", 9, {"fixed": True})
    with session_scope() as session:  # compiled once, it serves the next call too
        assert statement.scalar(session, {"subject": 10, "at": utcnow()}) == event_id + 1


def test_coalesced_calls_fold_into_one_trailing_call():
    calls: list[float] = []
    done = threading.Event()

    def action() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            done.set()

    kick = Coalesced(action, lambda: 0.2)
    for _ in range(5):
        kick()
    assert len(calls) == 1  # the first runs at once, the other four wait for the interval
    assert done.wait(5)
    time.sleep(0.3)
    assert len(calls) == 2  # …and become one trailing call, not four
    assert calls[1] - calls[0] >= 0.15
