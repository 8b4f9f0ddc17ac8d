"""intake: accepted reports and outbox

Revision ID: intake_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.migrate import create_outbox_table

revision: str = "intake_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "intake_reports",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_intake_reports_source_external_id"),
    )
    create_outbox_table("intake_outbox")


def downgrade() -> None:
    op.drop_table("intake_outbox")
    op.drop_table("intake_reports")
