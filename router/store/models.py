"""Tables the router owns: each case's report and decision (for re-routing and duplicates), inbox, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime, json_type
from services.inbox import InboxMixin
from services.outbox import OutboxMixin


class RoutedCase(Base):
    __tablename__ = "router_cases"
    __table_args__ = (Index("ix_router_cases_subject_open", "subject", "open", "routed_at"),)

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(json_type())
    decision: Mapped[dict[str, Any]] = mapped_column(json_type())
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    excluded: Mapped[list[str]] = mapped_column(json_type(), default=list)
    unit: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    routed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RouterInbox(InboxMixin, Base):
    __tablename__ = "router_inbox"


class RouterOutbox(OutboxMixin, Base):
    __tablename__ = "router_outbox"


class SubjectTier(Base):
    """The credit tier the tracker last announced for each subject key (a tier_changed / subject_merged case
    event), so every dispatch of the subject's cases carries it without the router reading tracker tables."""

    __tablename__ = "router_subject_tiers"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str] = mapped_column(String(1))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
