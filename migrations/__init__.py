"""Alembic migrations of the Clearway schema."""
