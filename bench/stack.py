"""Throw-away PostgreSQL databases and Redis prefixes for benchmark parts (never the user's)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from kit import queue
from kit.db import dispose_engines, session_scope
from kit.migrate import upgrade
from kit.settings import get_settings
from warehouses.demo import seed_reference

PG_ADMIN = os.environ.get("CLEARWAY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLEARWAY_BENCH_REDIS", "redis://127.0.0.1:6379/5")


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def fresh_database(name: str) -> str:
    """Drop and create `name` (always a clearway_bench_* database); returns its URL."""
    assert name.startswith("clearway_bench_"), name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    assert name.startswith("clearway_bench_"), name
    dispose_engines()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(database_url: str, data_dir: Path, prefix: str, redis_url: str | None) -> None:
    """Point this process's settings, engines and queue at the given stack."""
    os.environ["CLEARWAY_DATABASE_URL"] = database_url
    os.environ["CLEARWAY_DATA_DIR"] = str(data_dir)
    os.environ["CLEARWAY_QUEUE_PREFIX"] = prefix
    if redis_url:
        os.environ["CLEARWAY_REDIS_URL"] = redis_url
    else:
        os.environ.pop("CLEARWAY_REDIS_URL", None)
    get_settings.cache_clear()
    dispose_engines()
    queue.reset_connections()


def wipe_prefix(prefix: str) -> None:
    redis = queue.get_redis()
    for key in redis.scan_iter(f"{prefix}:*"):
        redis.delete(key)


@contextmanager
def bench_stack(part: str, *, redis: bool = True, keep: bool = False) -> Iterator[str]:
    """A migrated, seeded PostgreSQL database and a private Redis prefix for one part."""
    saved = dict(os.environ)
    tag = uuid.uuid4().hex[:6]  # the suite's bench tests and a bench run may overlap
    name = f"clearway_bench_{part}_{tag}"
    prefix = f"bench-{part}-{tag}"
    data_dir = Path(os.environ.get("CLEARWAY_BENCH_DATA", "var/bench")) / part
    configure(fresh_database(name), data_dir, prefix, REDIS_URL if redis else None)
    upgrade()
    with session_scope() as session:
        seed_reference(session)
    try:
        yield prefix
    finally:
        if redis:
            wipe_prefix(prefix)
        if not keep:
            drop_database(name)
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        dispose_engines()
        queue.reset_connections()
