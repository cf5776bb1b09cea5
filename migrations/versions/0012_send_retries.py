"""customs_messages: attempts, next attempt and a partial index for messages waiting for disk

A message the send folder could not take for a passing reason (a full disk, a quota, an I/O
error) now waits instead of failing: the sweeper writes it again once its next attempt is due,
backing off per attempt. The partial index holds only the waiting ones, in due order.

Revision ID: 0012_send_retries
Revises: 0011_scan_ids_per_warehouse
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_send_retries"
down_revision: str | None = "0011_scan_ids_per_warehouse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("transport_state = 'waiting'")


def upgrade() -> None:
    with op.batch_alter_table("customs_messages") as batch:
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(
            sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "ix_customs_messages_waiting",
        "customs_messages",
        ["next_attempt_at"],
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_customs_messages_waiting", table_name="customs_messages")
    with op.batch_alter_table("customs_messages") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
