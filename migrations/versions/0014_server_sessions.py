"""server_sessions: page logins held server-side, so logout and a new password end them at once

The session cookie used to carry the key or user id itself, valid until it expired (12 h) even
after logging out. It now names a row here; logging out, a password change, disabling the user or
revoking the key marks the row ended and the cookie stops working on its next request.

Revision ID: 0014_server_sessions
Revises: 0013_unique_codes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_server_sessions"
down_revision: str | None = "0013_unique_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "server_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", Str(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("expires_at", When(), nullable=False),
        sa.Column("ended_at", When(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_server_sessions_user_id", "server_sessions", ["user_id"])
    op.create_index("ix_server_sessions_key_id", "server_sessions", ["key_id"])
    op.create_index("ix_server_sessions_expires_at", "server_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_server_sessions_expires_at", table_name="server_sessions")
    op.drop_index("ix_server_sessions_key_id", table_name="server_sessions")
    op.drop_index("ix_server_sessions_user_id", table_name="server_sessions")
    op.drop_table("server_sessions")
