"""Console sessions on the server: one row per login, so logout and revocation end a session on every replica.

The cookie holds a random session id; the table keeps only its SHA-256, so reading the table gives no live
cookie. The CSRF token of the session lives in the row too (a synchroniser token: a page on another origin
cannot read it, and it works on every replica whatever CASEROUTE_CONSOLE_SECRET is).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, delete
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, Database, UtcDateTime
from services.principal import Caller


class ConsoleSession(Base):
    __tablename__ = "tracker_console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # the credential: key:<key id> or jwt:<subject>
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(160))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


@dataclass(frozen=True)
class Session:
    """A live session as a request sees it."""

    caller: Caller
    csrf: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def create(db: Database, caller: Caller, now: datetime, expires_at: datetime) -> tuple[str, Session]:
    """A new session for this caller: (the session id for the cookie, the session). Expired rows go on the way."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with db.transaction() as s:
        await s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        s.add(ConsoleSession(id_hash=_hash(session_id), key=caller.key, role=caller.role, name=caller.name,
                             csrf=csrf, created_at=now, expires_at=expires_at))
    return session_id, Session(caller, csrf, expires_at)


async def find(db: Database, session_id: str, now: datetime) -> Session | None:
    """The live session of this id, or None (unknown, logged out or expired)."""
    async with db.sessions() as s:
        row = await s.get(ConsoleSession, _hash(session_id))
    if row is None or row.expires_at <= now:
        return None
    return Session(Caller(row.role, row.name, key=row.key), row.csrf, row.expires_at)


async def end(db: Database, session_id: str) -> None:
    """Logout: the row goes, so the cookie is refused on every replica from now on."""
    async with db.transaction() as s:
        await s.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(session_id)))
