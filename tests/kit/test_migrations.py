"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app  # noqa: F401  (every package's tables join the metadata)
from kit.db import get_engine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrated_schema_matches_the_models(database_urls: dict[str, str], backend: str) -> None:
    with get_engine(database_urls[backend]).connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert drift == []


def test_the_relay_index_holds_only_undispatched_events(database_urls: dict[str, str]) -> None:
    with get_engine(database_urls["postgresql"]).connect() as conn:
        definition = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_undispatched'"
        ).scalar_one()
    assert definition.endswith("(id) WHERE (dispatched_at IS NULL)")
