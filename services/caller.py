"""Who is calling an API: `Authorization: Bearer <API key or JWT>` (or `X-Api-Key`), verified by the auth kit.

Everything that needs the caller goes through `authenticate` (one credential → one Caller), either by the
`CallerDep` dependency or by the console's login. There is no trusted header: an unverified caller is a 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.problems import Problem

if TYPE_CHECKING:
    from services.auth.authenticator import Authenticator

ROLES = ("department", "grid-app", "hotline", "adjudicator", "operator", "admin")
# Roles that see every case and the personal data in them (their reads of it are audited).
OVERSEERS = ("adjudicator", "operator", "admin")


@dataclass(frozen=True)
class Caller:
    """A role and a name; for departments the name is the department code (e.g. amr, police-nanmen).

    `key` names the credential (API key id or token subject), for rate limits and the audit log.
    """

    role: str
    name: str
    key: str = field(default="", compare=False)
    rate_limit: float | None = field(default=None, compare=False)

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"

    @property
    def oversees(self) -> bool:
        return self.role in OVERSEERS


_bearer = HTTPBearer(auto_error=False, description="an API key (crk_…) or a JWT of the configured issuer")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="an API key (crk_…)")


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.runtime.auth
    return auth


async def authenticate(request: Request, credential: str) -> Caller:
    """The caller a credential stands for, or 401 (a revoked key stops working within CASEROUTE_AUTH_CACHE_S)."""
    return await authenticator(request).verify(credential.strip())


async def get_caller(request: Request,
                     bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                     api_key: Annotated[str | None, Depends(_api_key)]) -> Caller:
    """The caller as the request's credential proves it."""
    credential = bearer.credentials if bearer is not None else api_key
    if not credential:
        raise Problem(401, "Not authenticated", "send Authorization: Bearer <API key or token>",
                      headers={"WWW-Authenticate": 'Bearer realm="caseroute"'})
    return await authenticate(request, credential)


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
