"""The outbox relay delivers at least once: events stay undispatched while Redis is away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisDown
from sqlalchemy import select
from sqlmodel import col

from kit import outbox, queue
from kit.db import session_scope
from kit.outbox import Event
from kit.settings import get_settings
from tests.clearance.workers_harness import free_port
from tests.conftest import Stack, make_stack

TOPIC = "test.outbox"


@pytest.fixture
def redis_stack(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    yield from make_stack(request, monkeypatch, tmp_path, "postgresql", redis=True)


def _undispatched() -> list[int]:
    with session_scope() as session:
        query = select(col(Event.id)).where(col(Event.dispatched_at).is_(None))
        return list(session.scalars(query))


def test_relay_with_redis_away_leaves_events_for_the_sweeper(redis_stack: Stack, monkeypatch):
    subscription = outbox.Subscription(TOPIC, "events", "kit.outbox.timeline")
    monkeypatch.setitem(outbox._subscriptions, TOPIC, [subscription])
    with session_scope() as session:
        outbox.record(session, TOPIC, ("order", 1), actor="test")
    monkeypatch.setenv("CLEARWAY_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    queue.reset_connections()
    with pytest.raises(RedisDown):
        outbox.relay()
    assert len(_undispatched()) == 1
    monkeypatch.setenv("CLEARWAY_REDIS_URL", redis_stack.redis_url or "")
    get_settings.cache_clear()
    queue.reset_connections()
    assert outbox.relay() == 1
    assert _undispatched() == []
    queued = [job.func_name for job in queue.get_queue("events").get_jobs()]
    assert queued.count("kit.outbox.timeline") == 1
