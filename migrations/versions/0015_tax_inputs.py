"""orders: insured fee, computed tax, value returned; order_lines: duty; skus: tariff rate

The dutiable value includes freight and insurance (cbec-facts §5.1), so an order carries its
insured fee (declared as CEB621 insuredFee). The tax charged (`tax_total`, the merchant's when
within customs' 5%) is kept beside the tax the formula gives (`tax_computed`). A single
indivisible item over CNY 5,000 pays full duty, so SKUs carry a tariff rate and lines the duty.
Goods returned through CEB625/626 give the buyer's annual allowance back (`returned_value`).

Revision ID: 0015_tax_inputs
Revises: 0014_server_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_tax_inputs"
down_revision: str | None = "0014_server_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZERO = sa.text("0")


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(19, 2), nullable=False, server_default=ZERO)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(_money("insured_fee"))
        batch.add_column(_money("tax_computed"))
        batch.add_column(_money("returned_value"))
    op.execute("UPDATE orders SET tax_computed = tax_total")
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(_money("customs_tax"))
    with op.batch_alter_table("skus") as batch:
        batch.add_column(
            sa.Column("tariff_rate", sa.Numeric(6, 4), nullable=False, server_default=ZERO)
        )


def downgrade() -> None:
    with op.batch_alter_table("skus") as batch:
        batch.drop_column("tariff_rate")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("customs_tax")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("returned_value")
        batch.drop_column("tax_computed")
        batch.drop_column("insured_fee")
