"""receipts: the warehouse a receipt concerns, and who handled an unmatched one when

A receipt whose guid/copNo matches no case used to be stored and never seen. It now carries the
warehouse it concerns (when its keys name exactly one) and waits in the broker's workspace until
a broker marks it handled; the partial index holds only the open ones, for the dashboard count.
printers: the font list the printer reports (labels' preview warns when it lacks the resident
font the ZPL names). warehouses: the carrier settings from profiles.toml (carrier name and
三段码 sort codes printed on the label).
The new case state `declared_to_eport` needs no change: states are not constrained in the
database.

Revision ID: 0016_customs_steps
Revises: 0015_tax_inputs
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_customs_steps"
down_revision: str | None = "0015_tax_inputs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("outcome = 'unmatched' AND handled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("warehouse_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("handled_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
        batch.create_foreign_key(
            "fk_receipts_warehouse_id_warehouses", "warehouses", ["warehouse_id"], ["id"]
        )
    with op.batch_alter_table("printers") as batch:
        batch.add_column(
            sa.Column("fonts", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
    with op.batch_alter_table("warehouses") as batch:
        batch.add_column(sa.Column("carrier", sa.JSON(), nullable=True))
    op.create_index(
        "ix_receipts_unmatched_open",
        "receipts",
        ["id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_receipts_unmatched_open", table_name="receipts")
    with op.batch_alter_table("warehouses") as batch:
        batch.drop_column("carrier")
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("fonts")
    with op.batch_alter_table("receipts") as batch:
        batch.drop_constraint("fk_receipts_warehouse_id_warehouses", type_="foreignkey")
        batch.drop_column("handled_by")
        batch.drop_column("handled_at")
        batch.drop_column("warehouse_id")
