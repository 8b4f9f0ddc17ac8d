"""Tables the router owns: each case's report and latest decision (for re-routing), inbox, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime, json_type
from services.inbox import InboxMixin
from services.outbox import OutboxMixin


class RoutedCase(Base):
    __tablename__ = "router_cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(json_type())
    decision: Mapped[dict[str, Any]] = mapped_column(json_type())
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    excluded: Mapped[list[str]] = mapped_column(json_type(), default=list)
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    routed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class RouterInbox(InboxMixin, Base):
    __tablename__ = "router_inbox"


class RouterOutbox(OutboxMixin, Base):
    __tablename__ = "router_outbox"
