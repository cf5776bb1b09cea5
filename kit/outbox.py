"""The event outbox: every state change writes its event in the same transaction; a relay job
hands committed events to their subscribers' queues, and a sweeper relays what was missed."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, bindparam, insert, select, update
from sqlmodel import Field, Session, SQLModel, col

from kit import queue as jobs
from kit.db import (
    COPY_PAYS_FROM,
    HotStatement,
    after_commit,
    copy_rows,
    partial_index,
    session_scope,
)
from kit.settings import get_settings

RELAY = "kit.outbox.relay"
SWEEP = "kit.outbox.sweep"
BATCH = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(SQLModel, table=True):
    """An append-only fact: what happened to which subject, when, by whom, from what source."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id", "id"),
        # Only what the relay still has to hand over (migration 0009 says why).
        partial_index("ix_events_undispatched", "id", "dispatched_at IS NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: int
    actor: str = Field(max_length=120)
    source: str | None = Field(default=None, max_length=120)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(default_factory=utcnow, index=True)
    dispatched_at: datetime | None = None


@dataclass(frozen=True)
class Subscription:
    topic: str
    queue: str
    func: str
    drain: bool = False


_subscriptions: dict[str, list[Subscription]] = defaultdict(list)
_sweepers: list[str] = []


def subscribe(topic: str, queue: str, func: str, *, drain: bool = False) -> None:
    """Have `func(event_ids)` run on `queue` for committed events of `topic` (idempotently).

    With `drain`, `func()` takes no ids: it drains what is pending from the database, and at
    most one such job waits at a time, so work arrives in a few large batches, not many small.
    """
    subscription = Subscription(topic, queue, func, drain)
    if subscription not in _subscriptions[topic]:
        _subscriptions[topic].append(subscription)


def register_sweeper(func: str) -> None:
    """Have `func()` run in every sweep (it re-enqueues overdue work from the database)."""
    if func not in _sweepers:
        _sweepers.append(func)


def record(
    session: Session,
    topic: str,
    subject: tuple[str, int],
    *,
    actor: str,
    source: str | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Write an event in the caller's transaction and return its id; the relay is kicked after
    the commit. One prepared INSERT, not an ORM flush: this sits on every hot path."""
    values = {
        "topic": topic,
        "subject_type": subject[0],
        "subject_id": subject[1],
        "actor": actor,
        "source": source,
        "payload": payload or {},
        "occurred_at": occurred_at or utcnow(),
    }
    event_id = int(_INSERT_EVENT.scalar(session, values))
    _arm_relay(session)
    return event_id


def record_many(session: Session, events: list[dict[str, Any]]) -> int:
    """Write many events with one Core statement (hot paths); each dict holds Event's fields."""
    if not events:
        return 0
    now = utcnow()
    rows = [{"source": None, "payload": {}, "occurred_at": now, **event} for event in events]
    if len(rows) >= COPY_PAYS_FROM and session.get_bind().dialect.name == "postgresql":
        copy_rows(session, "events", EVENT_COLUMNS, (_copy_row(row) for row in rows))
    else:
        session.connection().execute(insert(Event.metadata.tables["events"]), rows)
    _arm_relay(session)
    return len(rows)


EVENT_COLUMNS = ("topic", "subject_type", "subject_id", "actor", "source", "payload", "occurred_at")


def _copy_row(row: dict[str, Any]) -> tuple[Any, ...]:
    payload = json.dumps(row["payload"], ensure_ascii=False, default=str)
    return (*(row[name] for name in EVENT_COLUMNS[:5]), payload, row["occurred_at"])


_INSERT_EVENT = HotStatement(
    insert(Event).values({name: bindparam(name) for name in EVENT_COLUMNS}).returning(col(Event.id))
)
_relay_kicker = jobs.Coalesced(
    lambda: jobs.enqueue_once("events", RELAY, ttl_s=30),
    lambda: get_settings().relay_kick_interval_s,
)


def _arm_relay(session: Session) -> None:
    # Once per transaction: a rollback drops the pending kick, so the next commit arms its own.
    after_commit(session, _kick_relay, once_as="relay_kick")


def _kick_relay() -> None:
    _relay_kicker()


def reset_relay_kicker() -> None:
    """Forget the relay kicker's last kick and cancel its pending one (tests start clean)."""
    _relay_kicker.reset()


def _claim_batch(session: Session, older_than: datetime | None) -> list[Event]:
    query = select(Event).where(col(Event.dispatched_at).is_(None))
    if older_than is not None:
        query = query.where(col(Event.occurred_at) <= older_than)
    query = query.order_by(col(Event.id)).limit(BATCH)
    if not get_settings().is_sqlite:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _dispatch(session: Session, events: list[Event]) -> None:
    by_topic: dict[str, list[int]] = defaultdict(list)
    for event in events:
        assert event.id is not None
        by_topic[event.topic].append(event.id)
    # Enqueue before the events are marked dispatched: if Redis is away the mark rolls back and
    # the sweeper relays them later (at least once; every subscriber job is idempotent).
    for topic, ids in by_topic.items():
        for sub in _subscriptions.get(topic, []):
            if sub.drain:
                jobs.enqueue_once(sub.queue, sub.func)
            else:
                jobs.enqueue(sub.queue, sub.func, ids)
    ids = [event.id for event in events if event.id is not None]
    session.execute(update(Event).where(col(Event.id).in_(ids)).values(dispatched_at=utcnow()))


def relay(older_than: datetime | None = None) -> int:
    """Hand every undispatched event to its subscribers; returns how many were relayed."""
    jobs.clear_once("events", RELAY)
    total = 0
    while True:
        with session_scope() as session:
            events = _claim_batch(session, older_than)
            if events:
                _dispatch(session, events)
        total += len(events)
        if len(events) < BATCH:
            return total


def sweep() -> dict[str, int]:
    """Relay events whose relay job was lost, then run every registered sweeper."""
    jobs.clear_once("sweep", SWEEP)
    grace = timedelta(seconds=get_settings().relay_grace_s)
    report = {"events_relayed": relay(older_than=utcnow() - grace)}
    for func in _sweepers:
        module, _, name = func.rpartition(".")
        result = getattr(__import__(module, fromlist=[name]), name)()
        report[func] = int(result or 0)
    return report


def timeline(session: Session, subject_type: str, subject_id: int) -> list[Event]:
    """Every event of one subject, oldest first."""
    query = (
        select(Event)
        .where(col(Event.subject_type) == subject_type, col(Event.subject_id) == subject_id)
        .order_by(col(Event.id))
    )
    return list(session.scalars(query))
