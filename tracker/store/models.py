"""Tables the tracker owns: cases, timelines, dispatch attempts, escalations, inbox and outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.audit import AuditMixin
from services.db import Base, BigId, UtcDateTime, json_type
from services.inbox import InboxMixin
from services.outbox import OutboxMixin


class Case(Base):
    """One row per case; `state` is the domain CaseState, the other columns are its queryable face."""

    __tablename__ = "tracker_cases"
    __table_args__ = (
        Index("ix_tracker_cases_department_status", "department", "status"),
        Index("ix_tracker_cases_next_due", "next_due_at"),
        Index("ix_tracker_cases_received", "received_at"),
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
    state: Mapped[dict[str, Any]] = mapped_column(json_type())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    feedback_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(160), index=True)  # role:name of the submitter
    subject_id: Mapped[str | None] = mapped_column(String(16), index=True)  # the business or place it is about


class TimelineEntry(Base):
    __tablename__ = "tracker_timeline"

    id: Mapped[int] = mapped_column(BigId, primary_key=True,
                                    autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("tracker_cases.case_id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(json_type())


class DispatchAttempt(Base):
    """One dispatch of a case, kept for the figures (dispatch success, latencies, returns)."""

    __tablename__ = "tracker_dispatches"
    __table_args__ = (Index("ix_tracker_dispatches_dispatched", "dispatched_at"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("tracker_cases.case_id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    dispatched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ack_implied: Mapped[bool] = mapped_column(Boolean, default=False)
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    return_reason: Mapped[str | None] = mapped_column(String(32))
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Escalation(Base):
    """One row per breach: the primary key is the breach key, so no breach is escalated twice."""

    __tablename__ = "tracker_escalations"

    breach_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("tracker_cases.case_id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    attempt: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class TrackerInbox(InboxMixin, Base):
    __tablename__ = "tracker_inbox"


class TrackerOutbox(OutboxMixin, Base):
    __tablename__ = "tracker_outbox"


class TrackerAudit(AuditMixin, Base):
    """Rulings, catalogue publications, rollbacks and reads of personal data: who, when, what."""

    __tablename__ = "tracker_audit"


class CatalogueVersion(Base):
    """Each catalogue version the tracker published or saw on catalogue.v1; rollback publishes an old one anew."""

    __tablename__ = "tracker_catalogue_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True,
                                    autoincrement=True)
    catalogue_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(120), unique=True)
    parent: Mapped[str | None] = mapped_column(String(120))
    author: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text, default="")
    from_case: Mapped[str | None] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(json_type())
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RulingRecord(Base):
    """One ruling on one case, with the report text, so later cases can be shown similar earlier rulings."""

    __tablename__ = "tracker_rulings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True,
                                    autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("tracker_cases.case_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # gap | dispute
    lead: Mapped[str] = mapped_column(String(64))
    cooperating: Mapped[list[str]] = mapped_column(json_type())
    principle: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    adjudicator: Mapped[str] = mapped_column(String(160))
    rule_id: Mapped[str | None] = mapped_column(String(80))
    catalogue_version: Mapped[str | None] = mapped_column(String(120))
    unit: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class StatementSent(Base):
    """One row per month whose statement was produced: inserting it is the claim (as a breach key is for an
    escalation), so with several replicas the statement goes out once."""

    __tablename__ = "tracker_statements"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    produced_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(json_type())


class Subject(Base):
    """The business or place cases are about (issue 15 §1), with its credit tier as last computed (§3).

    Its id derives from its first key, so two replicas creating it at once create one row. A merged subject
    stays, pointing at the one it was merged into; its keys and cases move there."""

    __tablename__ = "tracker_subjects"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # uscc | name | place: what its first key was
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    tier: Mapped[str] = mapped_column(String(1), index=True, default="A")
    score: Mapped[float] = mapped_column(Float, default=0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(json_type(), default=list)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    last_reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    merged_into: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubjectKey(Base):
    """Each key a subject is known by (uscc:…, name:…, place:…); the primary key makes a key one subject's."""

    __tablename__ = "tracker_subject_keys"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(16), index=True)


class JointInspection(Base):
    """A joint inspection (联合检查) a trigger opened: the window key (trigger:subject:window) is the claim, so a
    trigger opens one per subject and window whatever the number of tracker replicas. It is tracked as the case
    `case_id` (rule JOINT)."""

    __tablename__ = "tracker_inspections"

    window_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[str] = mapped_column(String(32), unique=True)
    cause_case_id: Mapped[str] = mapped_column(String(32))
    why: Mapped[str] = mapped_column(Text, default="")
    catalogue_version: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
