"""Tables the notifier owns: events taken in, subscriptions, deliveries and what it remembers of cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.audit import AuditMixin
from services.db import Base, BigId, UtcDateTime, json_type


class ReceivedEvent(Base):
    """One row per distinct event id: redeliveries of the same event do not add rows."""

    __tablename__ = "notifier_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(255))
    envelope: Mapped[dict[str, Any]] = mapped_column(json_type())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Subscription(Base):
    """Who wants which event types by which channel; the secret signs and is never shown again."""

    __tablename__ = "notifier_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(256))
    # The secret before the last rotation signs too until this time, so receivers can switch without a gap.
    previous_secret: Mapped[str | None] = mapped_column(String(256))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    event_types: Mapped[list[str]] = mapped_column(json_type())
    description: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Since when it hears dispatch types (made or changed so; notifier.domain.topics): a department topic newly
    # read for it starts there, not in the topic's history. Kept when a change leaves it hearing them.
    dispatches_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Delivery(Base):
    """One (event, recipient) pair, created with the event's take-in; sent in order within its lane."""

    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", name="uq_notifier_deliveries_event_recipient"),
        Index("ix_notifier_deliveries_lane", "lane", "id"),
        Index("ix_notifier_deliveries_status", "status", "id"),
        Index("ix_notifier_deliveries_subscription", "subscription_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(BigId)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str | None] = mapped_column(String(36))
    url: Mapped[str | None] = mapped_column(String(2048))
    lane: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    horizon_from: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class CaseMemory(Base):
    """The few facts of a case deliveries need: the reporter's callback and the primary dispatch."""

    __tablename__ = "notifier_cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(32))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    department: Mapped[str | None] = mapped_column(String(64))
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ack_hours: Mapped[float | None] = mapped_column(Float)
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NotifierAudit(AuditMixin, Base):
    """Who changed which subscription (creation, change, deactivation)."""

    __tablename__ = "notifier_audit"
