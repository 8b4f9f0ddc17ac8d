"""notifier: received events

Revision ID: notifier_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.db import BigId

revision: str = "notifier_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "notifier_events",
        sa.Column("seq", BigId, primary_key=True,
                  autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("department", sa.String(64), index=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("envelope", JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notifier_events")
