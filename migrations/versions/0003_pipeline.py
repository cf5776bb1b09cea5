"""clearance pipeline: per-warehouse gateway settings

Revision ID: 0003_pipeline
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_pipeline"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_settings",
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("send_dir", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("receive_dir", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("envelope", sa.Boolean(), nullable=False),
        sa.Column("file_prefix", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("warehouse_id"),
    )


def downgrade() -> None:
    op.drop_table("gateway_settings")
