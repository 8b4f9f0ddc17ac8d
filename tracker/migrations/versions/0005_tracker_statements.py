"""tracker: monthly statements produced, one row per month (its primary key is the claim: one replica sends it)

Revision ID: tracker_0005_statements
Revises: tracker_0004_console
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "tracker_0005_statements"
down_revision: str | None = "tracker_0004_console"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tracker_statements",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("produced_at", TS, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("summary", JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tracker_statements")
