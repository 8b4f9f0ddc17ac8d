"""notifier: when each subscription began hearing dispatches, the floor of a department topic newly read

Revision ID: notifier_0005
Revises: notifier_0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifier_0005"
down_revision: str | None = "notifier_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifier_subscriptions") as table:
        table.add_column(sa.Column("dispatches_since", sa.DateTime(timezone=True), nullable=True))
    # Until now every dispatch topic was read: a subscription has heard dispatches (if it asks) since it was made.
    op.execute("UPDATE notifier_subscriptions SET dispatches_since = created_at")


def downgrade() -> None:
    with op.batch_alter_table("notifier_subscriptions") as table:
        table.drop_column("dispatches_since")
