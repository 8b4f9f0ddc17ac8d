"""notifier: the previous webhook secret and the end of its overlap, for rotations without a gap

Revision ID: notifier_0004
Revises: notifier_0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifier_0004"
down_revision: str | None = "notifier_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite (embedded mode) cannot ALTER every way; on PostgreSQL these are plain ADD COLUMNs.
    with op.batch_alter_table("notifier_subscriptions") as table:
        table.add_column(sa.Column("previous_secret", sa.String(256), nullable=True))
        table.add_column(sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifier_subscriptions") as table:
        table.drop_column("previous_secret_expires_at")
        table.drop_column("previous_secret")
