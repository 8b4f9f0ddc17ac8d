"""The console's login session: the caller `authenticate` vouched for, in a signed HttpOnly SameSite=Strict cookie."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.caller import Caller
from services.problems import Problem
from services.settings import Settings

COOKIE = "caseroute_console"
MAX_AGE_S = 8 * 3600  # one working shift
CONSOLE_ROLES = ("adjudicator", "operator", "admin")
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="caseroute-console")


@lru_cache(maxsize=1)
def _process_secret() -> str:
    log.warning("CASEROUTE_CONSOLE_SECRET is unset: console sessions last only as long as this process")
    return secrets.token_urlsafe(32)


def serializer(settings: Settings) -> URLSafeTimedSerializer:
    secret = settings.console_secret.get_secret_value() if settings.console_secret else _process_secret()
    return _serializer(secret)


def start(response: Response, request: Request, settings: Settings, caller: Caller) -> None:
    token = serializer(settings).dumps({"role": caller.role, "name": caller.name})
    response.set_cookie(COOKIE, token, max_age=MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console")


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.tracker.state["deps"].settings
    return settings


async def console_caller(request: Request) -> Caller:
    """The logged-in caller, or a redirect to the login page."""
    token = request.cookies.get(COOKIE)
    if token:
        try:
            data = serializer(_settings(request)).loads(token, max_age=MAX_AGE_S)
            if data.get("role") in CONSOLE_ROLES:
                return Caller(str(data["role"]), str(data["name"]))
        except (BadSignature, KeyError, AttributeError):
            pass
    raise Problem(303, "Login needed", "log in to the console first", headers={"Location": "/console/login"})


ConsoleCaller = Annotated[Caller, Depends(console_caller)]
