"""Tables of the auth kit: API keys and the audit of key management; every service migrates them at start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from services.audit import AuditMixin
from services.db import Base, UtcDateTime


class ApiKey(Base):
    """One key: only the SHA-256 of its secret is kept; `key_id` is the public part callers send along."""

    __tablename__ = "auth_api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64), index=True)  # the department code for departments
    description: Mapped[str] = mapped_column(String(200), default="")
    rate_limit: Mapped[float | None] = mapped_column(Float, nullable=True)  # requests/s at intake; None: the role's
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AuthAudit(AuditMixin, Base):
    __tablename__ = "auth_audit"
