"""printing: printers per warehouse and station, print jobs

Revision ID: 0006_printing
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_printing"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "printers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_code", Str(length=8), nullable=False),
        sa.Column("station", Str(length=40), nullable=False),
        sa.Column("name", Str(length=60), nullable=False),
        sa.Column("kind", Str(length=8), nullable=False),
        sa.Column("url", Str(length=500), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("warehouse_code", "name"),
    )
    op.create_index("ix_printers_warehouse_code", "printers", ["warehouse_code"])
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_code", Str(length=8), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("format", Str(length=8), nullable=False),
        sa.Column("status", Str(length=8), nullable=False),
        sa.Column("reason", Str(length=1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("requested_by", Str(length=120), nullable=False),
        sa.Column("reprint_of", sa.Integer(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("started_at", When(), nullable=True),
        sa.Column("sent_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["printer_id"], ["printers.id"]),
        sa.ForeignKeyConstraint(["reprint_of"], ["print_jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_print_jobs_printer_id", "print_jobs", ["printer_id"])
    op.create_index("ix_print_jobs_warehouse_code", "print_jobs", ["warehouse_code"])
    op.create_index("ix_print_jobs_status", "print_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("print_jobs")
    op.drop_table("printers")
