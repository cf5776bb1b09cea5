"""printers: a resident CJK font per ZPL printer, and disabling instead of deleting

Revision ID: 0008_printer_settings
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_printer_settings"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(
            sa.Column("resident_font", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("resident_font")
