"""parcels and customs_messages: partial indexes for what the declare and submit stages look for

The declare stage asked for received parcels without a case, in id order; with no index that
narrowed it, PostgreSQL walked every received parcel (92,000 rows, 225 ms a batch at 100,000
orders). The submit stage's pending messages were found through an index of every transport
state, then sorted (86 ms with 16,000 waiting). Each now reads a partial index in id order.

Revision ID: 0010_partial_stage_indexes
Revises: 0009_partial_undispatched
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_partial_stage_indexes"
down_revision: str | None = "0009_partial_undispatched"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TO_DECLARE = sa.text("floor_state = 'received' AND customs_state = 'none'")
PENDING = sa.text("transport_state = 'pending'")


def upgrade() -> None:
    for name, table, where in (
        ("ix_parcels_to_declare", "parcels", TO_DECLARE),
        ("ix_customs_messages_pending", "customs_messages", PENDING),
    ):
        op.create_index(name, table, ["id"], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    op.drop_index("ix_customs_messages_pending", table_name="customs_messages")
    op.drop_index("ix_parcels_to_declare", table_name="parcels")
