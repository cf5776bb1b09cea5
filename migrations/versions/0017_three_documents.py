"""order_documents and tax_bills: the three documents (三单) of each case, CEB816 tax bills

Each case tracks whether customs has its order (CEB311), payment (CEB411) and waybill (CEB511),
from their receipts or because another party files them; the CEB621 waits (transport_state
'held') until the documents its warehouse requires are there. Tax bills are stored per
inventory and reconciled with the tax withheld at intake.

Revision ID: 0017_three_documents
Revises: 0016_customs_steps
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017_three_documents"
down_revision: str | None = "0016_customs_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Numeric(19, 2), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "order_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("doc_type", _text(8), nullable=False),
        sa.Column("sender", _text(16), nullable=False),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("guid", _text(36), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_return_time", _text(17), nullable=True),
        sa.Column("info", _text(1000), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["clearance_cases.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "doc_type"),
        sa.UniqueConstraint("guid"),
    )
    op.create_index("ix_order_documents_case_id", "order_documents", ["case_id"])
    op.create_index("ix_order_documents_order_id", "order_documents", ["order_id"])
    op.create_index("ix_order_documents_state", "order_documents", ["state"])
    op.create_table(
        "tax_bills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invt_no", _text(18), nullable=False),
        sa.Column("tax_no", _text(30), nullable=False),
        sa.Column("guid", _text(64), nullable=False),
        sa.Column("return_time", _text(17), nullable=False),
        sa.Column("status", _text(2), nullable=False),
        sa.Column("assure_code", _text(30), nullable=False),
        _money("customs_tax"),
        _money("value_added_tax"),
        _money("consumption_tax"),
        _money("total"),
        _money("withheld", nullable=True),
        sa.Column("outcome", _text(12), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["clearance_cases.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invt_no", "tax_no"),
    )
    op.create_index("ix_tax_bills_invt_no", "tax_bills", ["invt_no"])
    op.create_index("ix_tax_bills_assure_code", "tax_bills", ["assure_code"])
    op.create_index("ix_tax_bills_outcome", "tax_bills", ["outcome"])
    op.create_index("ix_tax_bills_case_id", "tax_bills", ["case_id"])


def downgrade() -> None:
    op.drop_table("tax_bills")
    op.drop_table("order_documents")
