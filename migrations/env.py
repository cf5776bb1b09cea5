"""Alembic environment: runs migrations against the configured database URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import clearance.gateway.models  # registers tables, as do the imports below
import clearance.pipeline.models
import clearance.webhooks.models  # noqa: F401
import kit.auth
import kit.outbox  # noqa: F401
import warehouses.models  # noqa: F401
from kit.db import get_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
