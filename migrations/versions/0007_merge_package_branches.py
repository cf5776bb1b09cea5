"""Join the packages' migration branches into one head

Revision ID: 0007
Revises: 0002_floor, 0003_pipeline, 0004_trust, 0006_printing
Create Date: 2026-11-29
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = (
    "0002_floor",
    "0003_pipeline",
    "0004_trust",
    "0006_printing",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
