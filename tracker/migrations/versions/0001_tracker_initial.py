"""tracker: cases, timeline, dispatch attempts, escalations, inbox, outbox

Revision ID: tracker_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.db import BigId
from services.migrate import create_inbox_table, create_outbox_table

revision: str = "tracker_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tracker_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("source", sa.String(16)),
        sa.Column("unit", sa.String(64), index=True),
        sa.Column("department", sa.String(64)),
        sa.Column("rule", sa.String(16)),
        sa.Column("hazard", sa.String(16)),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("report", JSON),
        sa.Column("decision", JSON),
        sa.Column("state", JSON, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("dispatched_at", TS),
        sa.Column("ack_due_at", TS),
        sa.Column("feedback_due_at", TS),
        sa.Column("next_due_at", TS),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_tracker_cases_department_status", "tracker_cases", ["department", "status"])
    op.create_index("ix_tracker_cases_next_due", "tracker_cases", ["next_due_at"])
    op.create_index("ix_tracker_cases_received", "tracker_cases", ["received_at"])
    op.create_table(
        "tracker_timeline",
        sa.Column("id", BigId, primary_key=True,
                  autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("tracker_cases.case_id"), nullable=False,
                  index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64)),
        sa.Column("detail", JSON, nullable=False),
    )
    op.create_table(
        "tracker_dispatches",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("tracker_cases.case_id"), primary_key=True),
        sa.Column("attempt", sa.Integer(), primary_key=True),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("dispatched_at", TS, nullable=False),
        sa.Column("acked_at", TS),
        sa.Column("ack_implied", sa.Boolean(), nullable=False),
        sa.Column("returned_at", TS),
        sa.Column("return_reason", sa.String(32)),
        sa.Column("feedback_at", TS),
    )
    op.create_index("ix_tracker_dispatches_dispatched", "tracker_dispatches", ["dispatched_at"])
    op.create_table(
        "tracker_escalations",
        sa.Column("breach_key", sa.String(96), primary_key=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("tracker_cases.case_id"), nullable=False, index=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("raised_at", TS, nullable=False, index=True),
    )
    create_inbox_table("tracker_inbox")
    create_outbox_table("tracker_outbox")


def downgrade() -> None:
    for table in ("tracker_outbox", "tracker_inbox", "tracker_escalations", "tracker_dispatches",
                  "tracker_timeline", "tracker_cases"):
        op.drop_table(table)
