"""tracker: console sessions kept on the server (logout and key revocation end them on every replica)

Revision ID: tracker_0004_console
Revises: tracker_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0004_console"
down_revision: str | None = "tracker_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tracker_console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("tracker_console_sessions")
