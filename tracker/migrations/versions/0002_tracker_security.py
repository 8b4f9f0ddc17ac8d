"""tracker: who submitted each case, and the audit of privileged reads

Revision ID: tracker_0002
Revises: tracker_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.audit import create_audit_table

revision: str = "tracker_0002"
down_revision: str | None = "tracker_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracker_cases") as batch:
        batch.add_column(sa.Column("submitted_by", sa.String(160), nullable=True))
        batch.create_index("ix_tracker_cases_submitted_by", ["submitted_by"])
    create_audit_table("tracker_audit")


def downgrade() -> None:
    op.drop_table("tracker_audit")
    with op.batch_alter_table("tracker_cases") as batch:
        batch.drop_index("ix_tracker_cases_submitted_by")
        batch.drop_column("submitted_by")
