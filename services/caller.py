"""The HTTP dependencies that prove who is calling an API: `Authorization: Bearer <API key or JWT>` (or
`X-Api-Key`), verified by the auth kit, gives a services.principal.Caller.

Everything that needs the caller goes through `authenticate` (one credential → one Caller), either by the
`CallerDep` dependency or by the console's login. There is no trusted header: an unverified caller is a 401.
Only HTTP code imports this module; handlers, stores and the audit log take the plain Caller (or its actor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from schemas.roles import ROLES
from services.auth.authenticator import Authenticator
from services.principal import Caller
from services.problems import Problem

# The credential schemes as the OpenAPI document shows them (document_credentials). At run time one plain
# dependency reads the headers: FastAPI's security classes as sub-dependencies add their own dependency solving to
# every request, a visible share of intake's CPU per report (bench/intake_bench.py).
_bearer = HTTPBearer(auto_error=False, description="an API key (crk_…) or a JWT of the configured issuer")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="an API key (crk_…)")
_CREDENTIAL_CHECK = "caseroute_checks_credential"


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.runtime.auth
    return auth


async def authenticate(request: Request, credential: str) -> Caller:
    """The caller a credential stands for, or 401 (a revoked key stops working within CASEROUTE_AUTH_CACHE_S)."""
    return await authenticator(request).verify(credential.strip())


def credential_of(request: Request) -> str | None:
    """`Authorization: Bearer <credential>`, else `X-Api-Key` (what HTTPBearer and APIKeyHeader would take)."""
    scheme, credential = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and credential:
        return credential
    return request.headers.get("x-api-key") or None


def checks_credential(dependency: Callable[..., Awaitable[Caller]]) -> Callable[..., Awaitable[Caller]]:
    """Mark a dependency that authenticates, so the routes using it document the credential schemes."""
    setattr(dependency, _CREDENTIAL_CHECK, True)
    return dependency


@checks_credential
async def get_caller(request: Request) -> Caller:
    """The caller as the request's credential proves it."""
    credential = credential_of(request)
    if not credential:
        raise Problem(401, "Not authenticated", "send Authorization: Bearer <API key or token>",
                      headers={"WWW-Authenticate": 'Bearer realm="caseroute"'})
    return await authenticate(request, credential)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_roles(*roles: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency admitting only callers of these roles (403 for the others)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    @checks_credential
    async def _check(request: Request) -> Caller:
        return of_roles(await get_caller(request), roles)

    return _check


def of_roles(caller: Caller, roles: Sequence[str]) -> Caller:
    """The caller, if it has one of the roles; else 403."""
    if caller.role not in roles:
        raise Problem(403, "Forbidden", f"this needs the role {' or '.join(roles)}, not {caller.role}")
    return caller


def document_credentials(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Put the credential schemes into the app's OpenAPI document, on every operation of these routers whose
    dependencies authenticate: the document reads as if HTTPBearer and APIKeyHeader were the dependencies."""
    build = app.openapi
    guarded = [(route.path, method.lower()) for router in routers for route in router.routes
               if isinstance(route, APIRoute) and route.include_in_schema and _authenticates(route.dependant)
               for method in route.methods or ()]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        if guarded:
            schemes = {"HTTPBearer": _bearer.model.model_dump(mode="json", by_alias=True, exclude_none=True),
                       "APIKeyHeader": _api_key.model.model_dump(mode="json", by_alias=True, exclude_none=True)}
            schema.setdefault("components", {})["securitySchemes"] = schemes
            for path, method in guarded:
                schema["paths"][path][method]["security"] = [{name: []} for name in schemes]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _authenticates(dependant: Dependant) -> bool:
    return any(getattr(d.call, _CREDENTIAL_CHECK, False) or _authenticates(d) for d in dependant.dependencies)
