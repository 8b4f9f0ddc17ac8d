"""The work behind `caseroute keys …`: on the configured database, audited as the operating-system user."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from services import migrate
from services.auth import keys
from services.auth.bootstrap import AUTH_MIGRATIONS
from services.db import Database
from services.principal import Caller
from services.settings import Settings

T = TypeVar("T")


def _cli_caller() -> Caller:
    return Caller("admin", f"cli-{getpass.getuser()}")


def _on_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(settings.database_url)
        try:
            await migrate.upgrade(db, "auth", AUTH_MIGRATIONS)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def create(settings: Settings, role: str, name: str, expires: str | None, description: str,
           rate_limit: float | None) -> str:
    lifetime = keys.parse_duration(expires) if expires else None
    new = _on_database(settings, lambda db: keys.create_key(
        db, role=role, name=name, by=_cli_caller(), expires_in=lifetime, description=description,
        rate_limit=rate_limit))
    return new.secret


def list_rows(settings: Settings, include_revoked: bool) -> list[dict[str, Any]]:
    rows = _on_database(settings, lambda db: keys.list_keys(db, include_revoked=include_revoked))
    return [{"key_id": r.key_id, "role": r.role, "name": r.name, "description": r.description,
             "created_at": r.created_at.isoformat(), "created_by": r.created_by,
             "expires_at": r.expires_at.isoformat() if r.expires_at else None,
             "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
             "rate_limit": r.rate_limit, "revoked": r.revoked} for r in rows]


def revoke(settings: Settings, key_id: str) -> bool:
    if key_id.startswith(f"{keys.PREFIX}_"):
        key_id = key_id.split("_", 2)[1]  # a whole key pasted: its id part
    return _on_database(settings, lambda db: keys.revoke_key(db, key_id, by=_cli_caller()))


def authorised(settings: Settings, credential: str | None, *roles: str) -> Caller:
    """The caller of a command-line credential (API key or JWT), if it has one of `roles`; else ValueError."""
    from services.auth.authenticator import Authenticator
    from services.problems import Problem

    if not credential:
        raise ValueError("give a credential: --key or CASEROUTE_API_KEY")

    async def check(db: Database) -> Caller:
        return await Authenticator(settings.auth, db).verify(credential.strip())

    try:
        caller = _on_database(settings, check)
    except Problem as exc:
        raise ValueError(f"{exc.title}: {exc.detail}") from exc
    if caller.role not in roles:
        raise ValueError(f"this needs the role {' or '.join(roles)}, not {caller.role}")
    return caller


def audit(settings: Settings, caller: Caller, action: str, target: str, detail: dict[str, Any]) -> None:
    """An audit row in auth_audit for an administrative command run from the command line."""
    from services.audit import record
    from services.auth.models import AuthAudit

    async def write(db: Database) -> None:
        async with db.transaction() as session:
            record(session, AuthAudit, caller.actor, action, target, detail)

    _on_database(settings, write)
