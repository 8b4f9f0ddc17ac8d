"""notifier: subscriptions, deliveries and case memory

Revision ID: notifier_0002
Revises: notifier_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.db import BigId

revision: str = "notifier_0002"
down_revision: str | None = "notifier_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifier_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "notifier_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_seq", BigId, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(36)),
        sa.Column("url", sa.String(2048)),
        sa.Column("lane", sa.String(128), nullable=False),
        sa.Column("payload", JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS),
        sa.Column("lease_owner", sa.String(36)),
        sa.Column("horizon_from", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.UniqueConstraint("event_id", "recipient", name="uq_notifier_deliveries_event_recipient"),
    )
    op.create_index("ix_notifier_deliveries_lane", "notifier_deliveries", ["lane", "id"])
    op.create_index("ix_notifier_deliveries_status", "notifier_deliveries", ["status", "id"])
    op.create_index("ix_notifier_deliveries_subscription", "notifier_deliveries",
                    ["subscription_id", "status", "id"])
    op.create_table(
        "notifier_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(32)),
        sa.Column("callback_url", sa.String(2048)),
        sa.Column("department", sa.String(64)),
        sa.Column("dispatched_at", TS),
        sa.Column("ack_hours", sa.Float()),
        sa.Column("deadline_days", sa.Integer()),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notifier_cases")
    op.drop_table("notifier_deliveries")
    op.drop_table("notifier_subscriptions")
