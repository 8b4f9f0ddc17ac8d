"""intake: dedupe per submitter (role:name of the caller), not per source

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-12-06

Rows accepted before this revision did not record who submitted them. Hotline reports become the hotline
topic's (its calls are redelivered, and must still find their case); the others get `legacy:<source>`, a
submitter no caller is, so they stay valid and unique but no new report is taken for one of them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0002"
down_revision: str | None = "intake_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

HOTLINE_TOPIC = "topic:hotline.calls.v1"  # intake.domain.submitters.HOTLINE_TOPIC at this revision


def upgrade() -> None:
    with op.batch_alter_table("intake_reports") as batch:
        batch.add_column(sa.Column("submitter", sa.String(160), nullable=True))
    reports = sa.table("intake_reports", sa.column("source", sa.String), sa.column("submitter", sa.String))
    op.execute(reports.update().values(submitter=sa.case(
        (reports.c.source == "hotline", sa.literal(HOTLINE_TOPIC)),
        else_=sa.literal("legacy:") + reports.c.source)))
    with op.batch_alter_table("intake_reports") as batch:
        batch.alter_column("submitter", existing_type=sa.String(160), nullable=False)
        batch.drop_constraint("uq_intake_reports_source_external_id", type_="unique")
        batch.create_unique_constraint("uq_intake_reports_submitter_external_id", ["submitter", "external_id"])


def downgrade() -> None:
    # Two submitters' reports with one (source, external_id) cannot both stay under the old key: fails then.
    with op.batch_alter_table("intake_reports") as batch:
        batch.drop_constraint("uq_intake_reports_submitter_external_id", type_="unique")
        batch.create_unique_constraint("uq_intake_reports_source_external_id", ["source", "external_id"])
        batch.drop_column("submitter")
