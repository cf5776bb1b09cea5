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


@pytest.mark.parametrize(
    ("index", "definition"),
    [
        ("ix_events_undispatched", "(id) WHERE (dispatched_at IS NULL)"),
        (
            "ix_parcels_to_declare",
            "(id) WHERE (((floor_state)::text = 'received'::text)"
            " AND ((customs_state)::text = 'none'::text))",
        ),
        ("ix_customs_messages_pending", "(id) WHERE ((transport_state)::text = 'pending'::text)"),
    ],
)
def test_the_stage_indexes_hold_only_what_is_waiting(
    database_urls: dict[str, str], index: str, definition: str
) -> None:
    with get_engine(database_urls["postgresql"]).connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %(name)s", {"name": index}
        ).scalar_one()
    assert found.endswith(definition)
