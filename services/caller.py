"""Who is calling an API: one dependency, replaced by real authentication in the security work.

Everything that needs the caller goes through `authenticate` (one credential → one Caller), either by
the `CallerDep` header dependency or by the console's login, so the security work changes one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from services.problems import Problem

ROLES = ("department", "grid-app", "hotline", "adjudicator", "operator", "admin")


@dataclass(frozen=True)
class Caller:
    """A role and a name; for departments the name is the department code (e.g. amr, police-nanmen)."""

    role: str
    name: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


async def authenticate(request: Request, credential: str) -> Caller:
    """The caller a credential stands for, or 401 (today the credential is `role:name`, trusted)."""
    if ":" not in credential:
        raise Problem(401, "Caller unknown", "send X-Caller: <role>:<name>, e.g. department:amr")
    role, name = credential.split(":", 1)
    if role not in ROLES or not name.strip():
        raise Problem(401, "Caller unknown", f"role must be one of {', '.join(ROLES)}")
    return Caller(role, name.strip())


async def get_caller(request: Request,
                     x_caller: Annotated[str | None, Header(description="role:name, e.g. department:amr")] = None
                     ) -> Caller:
    """The caller as the request's credential states it."""
    if not x_caller:
        raise Problem(401, "Caller unknown", "send X-Caller: <role>:<name>, e.g. department:amr")
    return await authenticate(request, x_caller)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_roles(*roles: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency admitting only callers of these roles (403 for the others)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def _check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise Problem(403, "Forbidden", f"this needs the role {' or '.join(roles)}, not {caller.role}")
        return caller

    return _check
