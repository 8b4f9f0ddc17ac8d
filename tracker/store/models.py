"""Tables the tracker owns: cases, their timelines, inbox and outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime, json_type
from services.inbox import InboxMixin
from services.outbox import OutboxMixin


class Case(Base):
    __tablename__ = "tracker_cases"
    __table_args__ = (
        Index("ix_tracker_cases_department_status", "department", "status"),
        Index("ix_tracker_cases_ack_due", "ack_due_at"),
        Index("ix_tracker_cases_feedback_due", "feedback_due_at"),
    )

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    source: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(16))
    hazard: Mapped[str | None] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    decision: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    state: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    feedback_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TimelineEntry(Base):
    __tablename__ = "tracker_timeline"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("tracker_cases.case_id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)


class TrackerInbox(InboxMixin, Base):
    __tablename__ = "tracker_inbox"


class TrackerOutbox(OutboxMixin, Base):
    __tablename__ = "tracker_outbox"
