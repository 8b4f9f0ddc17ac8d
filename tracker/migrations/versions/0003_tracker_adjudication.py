"""tracker: catalogue versions and rulings (the adjudication loop)

Revision ID: tracker_0003
Revises: tracker_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.db import BigId

revision: str = "tracker_0003"
down_revision: str | None = "tracker_0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tracker_catalogue_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("catalogue_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(120), nullable=False, unique=True),
        sa.Column("parent", sa.String(120)),
        sa.Column("author", sa.String(160), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("from_case", sa.String(32)),
        sa.Column("document", JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
    )
    op.create_table(
        "tracker_rulings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("tracker_cases.case_id"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("lead", sa.String(64), nullable=False),
        sa.Column("cooperating", JSON, nullable=False),
        sa.Column("principle", sa.String(16), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("adjudicator", sa.String(160), nullable=False),
        sa.Column("rule_id", sa.String(80)),
        sa.Column("catalogue_version", sa.String(120)),
        sa.Column("unit", sa.String(64)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("tracker_rulings")
    op.drop_table("tracker_catalogue_versions")
