"""router: the credit tier of each subject key, as the tracker announces it (issue 15 §3)

Revision ID: router_0002_subject_tiers
Revises: router_0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "router_0002_subject_tiers"
down_revision: str | None = "router_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "router_subject_tiers",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("subject_id", sa.String(40), nullable=False),
        sa.Column("tier", sa.String(1), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("router_subject_tiers")
