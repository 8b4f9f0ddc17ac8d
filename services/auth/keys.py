"""API keys: `crk_<key id>_<secret>`, shown once at creation; only the SHA-256 of the secret is stored.

The secret is 256 random bits, so a plain SHA-256 is enough (no password stretching needed) and keeps the
check cheap; comparison is constant-time. Rotation is: create the new key, move callers over, revoke the old.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from schemas.roles import ROLES
from services.audit import record
from services.auth.models import ApiKey, AuthAudit
from services.db import Database
from services.principal import Caller

PREFIX = "crk"
_DURATION = re.compile(r"^(\d+)([dhm])$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class NewKey:
    """A created key: `secret` is the whole credential and exists only in this object."""

    key_id: str
    role: str
    name: str
    expires_at: datetime | None
    secret: str


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split(credential: str) -> tuple[str, str] | None:
    """(key id, secret) of an API key, or None when the credential is not shaped like one."""
    parts = credential.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(row: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(row.secret_hash, secret_hash(secret))


def usable(row: ApiKey, now: datetime) -> str | None:
    """Why the key may not be used now, or None."""
    if row.revoked:
        return "the key was revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "the key expired"
    return None


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"duration like 90d, 12h or 30m, not {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


async def create_key(db: Database, *, role: str, name: str, by: Caller, expires_in: timedelta | None = None,
                     description: str = "", rate_limit: float | None = None) -> NewKey:
    """Store a new key for `role:name` and audit its creation; the secret is returned, never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise ValueError("name: lower-case letters, digits, '.', '_' or '-' (a department's code for departments)")
    now = datetime.now(UTC)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = now + expires_in if expires_in is not None else None
    async with db.transaction() as session:
        session.add(ApiKey(key_id=key_id, secret_hash=secret_hash(secret), role=role, name=name,
                           description=description[:200], rate_limit=rate_limit, created_at=now,
                           created_by=by.actor, expires_at=expires_at, revoked=False))
        record(session, AuthAudit, by.actor, "key.create", key_id,
               {"role": role, "name": name, "expires_at": expires_at.isoformat() if expires_at else None})
    return NewKey(key_id, role, name, expires_at, f"{PREFIX}_{key_id}_{secret}")


async def list_keys(db: Database, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked.is_(False))
    async with db.sessions() as session:
        return list((await session.execute(query)).scalars())


async def revoke_key(db: Database, key_id: str, *, by: Caller) -> bool:
    """Revoke a key (audited); False when there is no such key. Takes effect within the auth cache time."""
    async with db.transaction() as session:
        row = await session.get(ApiKey, key_id, with_for_update=True)
        if row is None:
            return False
        if not row.revoked:
            row.revoked, row.revoked_at = True, datetime.now(UTC)
            record(session, AuthAudit, by.actor, "key.revoke", key_id, {"role": row.role, "name": row.name})
    return True


async def any_key(db: Database) -> bool:
    async with db.sessions() as session:
        return (await session.scalar(select(ApiKey.key_id).limit(1))) is not None
