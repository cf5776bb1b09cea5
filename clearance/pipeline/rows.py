"""Bulk writes for the pipeline's hot stages: COPY on PostgreSQL, one Core statement elsewhere."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlmodel import Session, SQLModel

from kit.db import copy_rows, insert_ignoring_conflicts


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def insert_rows(session: Session, table: str, rows: list[dict[str, Any]]) -> int:
    """Insert rows that all have the same keys, in the caller's transaction."""
    if not rows:
        return 0
    columns = list(rows[0])
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, columns, ([row[c] for c in columns] for row in rows))
    else:
        session.connection().execute(SQLModel.metadata.tables[table].insert(), rows)
    return len(rows)


def insert_returning(
    session: Session, table: Table, rows: list[dict[str, Any]], key: str = "order_id"
) -> dict[Any, int]:
    """Insert rows, skipping any that break a unique constraint; the new ids by `key`."""
    if not rows:
        return {}
    statement = insert_ignoring_conflicts(session, table).returning(table.c[key], table.c.id)
    result = session.connection().execute(statement, rows)
    return dict(result.tuples().all())


def update_by_id(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One UPDATE per row, sent as one executemany; each row holds `id` and the new values."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    params = [{"row_id": r["id"], **{f"new_{n}": r[n] for n in names}} for r in rows]
    session.connection().execute(statement, params)


def lock_in_id_order(session: Session, table: Table, ids: list[int]) -> None:
    """Row-lock these rows in id order before a set-based UPDATE, which locks in scan order:
    two workers on overlapping rows then queue instead of deadlocking."""
    if ids and session.get_bind().dialect.name == "postgresql":
        query = select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id)
        session.execute(query.with_for_update())
