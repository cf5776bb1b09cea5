"""order_codes: each order, tracking and waybill number held by one order per warehouse;
import_refusals: the refused rows of a CSV import, for its uploader to download

A merchant could create an order whose tracking number was another merchant's order number at
the same warehouse, and a scan of that code matched whichever came first (issue 20, item 3).
Every code a parcel is scanned by now takes a row here under a unique (warehouse, code) index,
so two intakes racing for one code cannot both commit. Existing orders are copied in; where
earlier data already shares a code, the first order keeps the row and the floor sends a scan
of that code to the exception queue as ambiguous.

A CSV import answers its refusals as a summary by reason and a link to the refused rows, kept
in import_refusals under an unguessable token with the uploading merchant (issue 20, item 7).

Revision ID: 0013_unique_codes
Revises: 0012_send_retries
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013_unique_codes"
down_revision: str | None = "0012_send_retries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Order numbers first, so that a clash keeps the order number's own order.
BACKFILL = (
    ("order", "orders.order_no"),
    ("tracking", "parcels.tracking_no"),
    ("waybill", "parcels.waybill_no"),
)


def upgrade() -> None:
    op.create_table(
        "order_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("warehouse_id", "code", name="uq_order_codes_code"),
    )
    op.create_index("ix_order_codes_order_id", "order_codes", ["order_id"])
    for kind, column in BACKFILL:
        # "WHERE true" keeps SQLite from reading ON CONFLICT as a join's ON.
        op.execute(
            "INSERT INTO order_codes (warehouse_id, code, order_id, kind) "
            f"SELECT orders.warehouse_id, {column}, orders.id, '{kind}' "
            "FROM orders JOIN parcels ON parcels.order_id = orders.id WHERE 1 = 1 "
            "ORDER BY orders.id ON CONFLICT DO NOTHING"
        )
    op.create_table(
        "import_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_import_refusals_created_at", "import_refusals", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_import_refusals_created_at", table_name="import_refusals")
    op.drop_table("import_refusals")
    op.drop_index("ix_order_codes_order_id", table_name="order_codes")
    op.drop_table("order_codes")
