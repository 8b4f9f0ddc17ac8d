"""Audit log: who did what to which thing, written in the transaction of the change itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.db import BigId, UtcDateTime, json_type


class AuditMixin:
    """Columns of a service's audit table (`<service>_audit`)."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(160), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(160), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(json_type())

    @declared_attr.directive
    def __tablename__(cls) -> str:
        raise NotImplementedError("give the service's audit table a name")


def record(session: AsyncSession, table: type[AuditMixin], actor: str, action: str, target: str,
           detail: dict[str, Any] | None = None) -> None:
    """Add an audit row for `actor` (role:name) inside the session's transaction, so the action and its record
    commit together."""
    row = table()
    row.at, row.actor, row.role = datetime.now(UTC), actor, actor.partition(":")[0]
    row.action, row.target, row.detail = action, target, detail or {}
    session.add(row)


def create_audit_table(name: str) -> None:
    """Migration step for a service's audit table (columns of AuditMixin)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        name,
        sa.Column("id", BigId, primary_key=True,
                  autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(160), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("target", sa.String(160), nullable=False, index=True),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    )
