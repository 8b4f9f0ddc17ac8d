"""Admin authentication: one bearer token (CASEROUTE_ADMIN_TOKEN) until the security work lands."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.problems import Problem
from services.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="CASEROUTE_ADMIN_TOKEN")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="caseroute"'}


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_admin(runtime: RuntimeDep,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """401 without a valid bearer token; 403 when no admin token is configured at all."""
    configured = runtime.settings.admin_token
    if configured is None or not configured.get_secret_value():
        raise Problem(403, "Admin API disabled", "set CASEROUTE_ADMIN_TOKEN to enable it")
    if credentials is None:
        raise Problem(401, "Authentication required", "send Authorization: Bearer <admin token>",
                      headers=_CHALLENGE)
    # Constant-time: the comparison must not tell how much of a guess was right.
    if not hmac.compare_digest(credentials.credentials.encode(), configured.get_secret_value().encode()):
        raise Problem(401, "Invalid token", "the bearer token is not the admin token",
                      headers={"WWW-Authenticate": 'Bearer realm="caseroute", error="invalid_token"'})


AdminDep = Depends(require_admin)
