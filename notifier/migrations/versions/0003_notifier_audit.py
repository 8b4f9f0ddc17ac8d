"""notifier: audit of subscription changes

Revision ID: notifier_0003
Revises: notifier_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

from services.audit import create_audit_table

revision: str = "notifier_0003"
down_revision: str | None = "notifier_0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table("notifier_audit")


def downgrade() -> None:
    op.drop_table("notifier_audit")
