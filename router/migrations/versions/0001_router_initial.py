"""router: cases with decisions, inbox, outbox

Revision ID: router_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.migrate import create_inbox_table, create_outbox_table

revision: str = "router_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "router_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("report", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("excluded", JSON, nullable=False),
        sa.Column("unit", sa.String(64)),
        sa.Column("subject", sa.String(64)),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_router_cases_subject_open", "router_cases", ["subject", "open", "routed_at"])
    create_inbox_table("router_inbox")
    create_outbox_table("router_outbox")


def downgrade() -> None:
    op.drop_table("router_outbox")
    op.drop_table("router_inbox")
    op.drop_table("router_cases")
