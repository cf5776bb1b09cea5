"""The warehouse floor: bags, the exception queue, and scan kinds, bag links and undo.

Revision ID: 0002_floor
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_floor"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
UTC_DT = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "bags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("label", STR(length=60), nullable=False),
        sa.Column("created_by", STR(length=120), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label"),
    )
    op.create_index("ix_bags_warehouse_id", "bags", ["warehouse_id"])
    op.create_table(
        "bag_parcels",
        sa.Column("bag_id", sa.Integer(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bag_id"], ["bags.id"]),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
        sa.PrimaryKeyConstraint("bag_id", "parcel_id"),
        sa.UniqueConstraint("parcel_id"),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", STR(length=8), nullable=False, server_default="inbound")
        )
        batch_op.add_column(sa.Column("bag_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("parent_scan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("message", STR(length=200), nullable=True))
        batch_op.add_column(sa.Column("undone_at", UTC_DT(), nullable=True))
        batch_op.add_column(sa.Column("undone_by", STR(length=120), nullable=True))
        batch_op.create_index("ix_scans_station_id", ["warehouse_id", "station", "id"])
        batch_op.create_foreign_key("fk_scans_bag_id_bags", "bags", ["bag_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_scans_parent_scan_id_scans", "scans", ["parent_scan_id"], ["id"]
        )
    op.create_table(
        "floor_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("code", STR(length=100), nullable=False),
        sa.Column("reason", STR(length=20), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=True),
        sa.Column("state", STR(length=16), nullable=False),
        sa.Column("note", STR(length=200), nullable=True),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.Column("resolved_at", UTC_DT(), nullable=True),
        sa.Column("resolved_by", STR(length=120), nullable=True),
        sa.Column("attached_order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["attached_order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_floor_exceptions_open", "floor_exceptions", ["warehouse_id", "state", "reason"]
    )
    op.create_index("ix_floor_exceptions_parcel_id", "floor_exceptions", ["parcel_id"])


def downgrade() -> None:
    op.drop_table("floor_exceptions")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_scans_parent_scan_id_scans", type_="foreignkey")
        batch_op.drop_constraint("fk_scans_bag_id_bags", type_="foreignkey")
        batch_op.drop_index("ix_scans_station_id")
        for column in ("undone_by", "undone_at", "message", "parent_scan_id", "bag_id", "kind"):
            batch_op.drop_column(column)
    op.drop_table("bag_parcels")
    op.drop_table("bags")
