"""tracker: subjects with their credit tiers and keys, cases linked to them, joint inspections (issue 15 §1–3)

Revision ID: tracker_0006_subjects
Revises: tracker_0005_statements
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "tracker_0006_subjects"
down_revision: str | None = "tracker_0005_statements"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tracker_subjects",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("address", sa.String(500)),
        sa.Column("unit", sa.String(64), index=True),
        sa.Column("credit_code", sa.String(18), index=True),
        sa.Column("tier", sa.String(1), nullable=False, index=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("last_reported_at", TS),
        sa.Column("merged_into", sa.String(16)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "tracker_subject_keys",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("subject_id", sa.String(16), nullable=False, index=True),
    )
    op.create_table(
        "tracker_inspections",
        sa.Column("window_key", sa.String(120), primary_key=True),
        sa.Column("trigger", sa.String(80), nullable=False),
        sa.Column("subject_id", sa.String(16), nullable=False, index=True),
        sa.Column("case_id", sa.String(32), nullable=False, unique=True),
        sa.Column("cause_case_id", sa.String(32), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("catalogue_version", sa.String(120), nullable=False),
        sa.Column("opened_at", TS, nullable=False, index=True),
    )
    # batch mode: SQLite (make run) alters a table by copying it; PostgreSQL adds the column in place.
    with op.batch_alter_table("tracker_cases") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(16)))
        batch.create_index("ix_tracker_cases_subject_id", ["subject_id"])


def downgrade() -> None:
    with op.batch_alter_table("tracker_cases") as batch:
        batch.drop_index("ix_tracker_cases_subject_id")
        batch.drop_column("subject_id")
    op.drop_table("tracker_inspections")
    op.drop_table("tracker_subject_keys")
    op.drop_table("tracker_subjects")
