"""Applies Alembic migrations programmatically (`clearway db upgrade`, `serve`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from kit.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None) -> None:
    """Bring the database to the newest schema (every head, should a package branch off again)."""
    command.upgrade(alembic_config(url), "heads")


def revision(message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    command.revision(alembic_config(), message=message, autogenerate=True)
