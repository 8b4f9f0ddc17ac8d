"""Tables the notifier owns: the events it has taken in (the source of every delivery)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime, json_type


class ReceivedEvent(Base):
    """One row per distinct event id: redeliveries of the same event do not add rows."""

    __tablename__ = "notifier_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(255))
    envelope: Mapped[dict[str, Any]] = mapped_column(json_type())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
