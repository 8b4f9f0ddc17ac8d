"""Tables intake owns: accepted reports (deduped by submitter and external id), its outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime, json_type
from services.outbox import OutboxMixin


class AcceptedReport(Base):
    __tablename__ = "intake_reports"
    __table_args__ = (UniqueConstraint("submitter", "external_id", name="uq_intake_reports_submitter_external_id"),)

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submitter: Mapped[str] = mapped_column(String(160))  # role:name of the caller (intake.domain.submitters)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    report: Mapped[dict[str, Any]] = mapped_column(json_type())
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IntakeOutbox(OutboxMixin, Base):
    __tablename__ = "intake_outbox"
