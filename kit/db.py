"""Database engine and sessions: SQLite (WAL, foreign keys) by default, PostgreSQL in production."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import ClauseElement, Executable, Index, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, create_engine

from kit.settings import get_settings

log = logging.getLogger(__name__)
_engines: dict[tuple[int, str], Engine] = {}
# A pooled connection idle this long is pinged before use; a busy one is trusted.
IDLE_PING_S = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A writer waits for the single SQLite write lock instead of failing a scan with "locked".
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    # Sized for a worker's whole thread pool under load: connections opened past the pool are
    # closed on return, and a PostgreSQL connection costs a backend process to open.
    size = get_settings().db_pool_size
    engine = create_engine(url, pool_size=size, max_overflow=size // 2, pool_recycle=1800)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """pool_pre_ping costs a round trip on every checkout, i.e. every request. Only a connection
    that sat idle may have been cut (PostgreSQL restarted, a firewall's timeout); a broken one
    is discarded and the pool hands out another (a cut found mid-use invalidates the pool)."""

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc

    return ping


def get_engine(url: str | None = None) -> Engine:
    """One engine per process and URL: a forked work-horse makes its own, never the parent's."""
    url = url or get_settings().database_url
    key = (os.getpid(), url)
    if key not in _engines:
        _engines[key] = _make_engine(url)
    return _engines[key]


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, shutdown)."""
    for (pid, _), engine in list(_engines.items()):
        if pid == os.getpid():
            engine.dispose()
    _engines.clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """The edge's unit of work: commit on success, roll back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@dataclass(frozen=True)
class _Pending:
    """A callback waiting for the outermost commit, and the (sub)transaction that made it."""

    transaction: SessionTransaction | None
    callback: Callable[[], None]
    name: str | None


def after_commit(
    session: Session, callback: Callable[[], None], *, once_as: str | None = None
) -> None:
    """Run `callback` once the session's outermost transaction commits. It is dropped if that
    transaction rolls back, or the savepoint it was registered in (or one around it) does; a
    savepoint rolled back elsewhere leaves it be. With `once_as`, a callback of that name still
    pending is not added twice."""
    pending: list[_Pending] = session.info.setdefault(_PENDING, [])
    if once_as is not None and any(item.name == once_as for item in pending):
        return
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending.append(_Pending(transaction, callback, once_as))


_PENDING = "after_commit"


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # The event fires for a released savepoint too: its work is not committed until the
    # outermost transaction is.
    if session.in_nested_transaction():
        return
    for item in session.info.pop(_PENDING, []):
        try:
            item.callback()
        except Exception:
            # The work is committed; only its delivery failed (Redis away). The sweeper finds
            # it in the database and enqueues it again, so the commit must not look failed.
            log.exception("after-commit callback failed; the sweeper will redo it")


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        kept = [item for item in pending if not _within(item.transaction, previous_transaction)]
        session.info[_PENDING] = kept


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    # Closing a session without commit or rollback ends its transaction too: nothing waits on.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return outer.parent is None


def insert_ignoring_conflicts(session: Session, table: Table) -> Insert:
    """An INSERT that skips rows breaking a unique constraint (bulk de-duplication)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# COPY takes two round trips (and, for a parent table, ids drawn beforehand), an INSERT one:
# below this many rows the INSERT is cheaper.
COPY_PAYS_FROM = 20


def partial_index(name: str, column: str, where: str) -> Index:
    """An index of only the rows `where` holds, on PostgreSQL and SQLite alike: what a stage
    still has to take stays small however long the history behind it grows."""
    predicate = text(where)
    return Index(name, column, postgresql_where=predicate, sqlite_where=predicate)


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL COPY … FROM STDIN on the session's connection: the bulk path of hot loops."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    names = ", ".join(columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _driver_values(params: dict[str, Any]) -> dict[str, Any]:
    """What Core's bind processors would have done for the driver: JSON columns go as text."""
    return {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}


class HotStatement:
    """A Core statement on a hot path (a scan, an event). On PostgreSQL it is compiled once and
    run on the driver's own cursor as a server-side prepared statement: SQLAlchemy's work per
    execution costs more than the round trip itself (research/perf-floors.md: ORM and Core are
    3–20× the driver). Elsewhere it runs through Core, whose types SQLite needs."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sql: str | None = None
        self._defaults: dict[str, Any] = {}

    def execute(self, session: Session, params: dict[str, Any]) -> Any:
        """Run with `params`; the cursor (PostgreSQL) or Core result (SQLite) to read from."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return connection.execute(self.statement, params)
        driver = connection.connection.driver_connection
        assert driver is not None
        sql = self._sql or self._compile(connection.dialect)
        try:
            return driver.execute(sql, _driver_values({**self._defaults, **params}), prepare=True)
        except psycopg.OperationalError as exc:
            # SQLAlchemy never sees the driver's own error: without this the dead connection
            # goes back to the pool and costs the next request a 503 too.
            if driver.closed or driver.broken:
                connection.invalidate(exc)
            raise

    def _compile(self, dialect: Any) -> str:
        assert isinstance(self.statement, ClauseElement)
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        assert "POSTCOMPILE" not in compiled.string, "a hot statement cannot expand IN lists"
        # Values written into the statement itself (`.values(state="received")`); the caller
        # gives the ones declared with bindparam(name).
        binds = compiled.binds.items()
        self._defaults = {name: bind.value for name, bind in binds if not bind.required}
        self._sql = compiled.string
        return self._sql

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        return list(self.execute(session, params).fetchall())

    def first(self, session: Session, params: dict[str, Any]) -> Any:
        return self.execute(session, params).fetchone()

    def scalar(self, session: Session, params: dict[str, Any]) -> Any:
        row = self.first(session, params)
        return row[0] if row is not None else None

    def rowcount(self, session: Session, params: dict[str, Any]) -> int:
        return int(self.execute(session, params).rowcount)
