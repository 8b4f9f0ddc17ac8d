"""The console's login session and its protection against cross-site requests.

A login stores a session row on the server (tracker.console.store) and gives the browser only a random id in an
HttpOnly SameSite=Strict cookie. Every console request then
- finds the row (logout deleted it; it ends 8 h after login, or at the JWT's expiry when that comes first), and
- re-checks the API key behind it through the authenticator (a revoked or expired key ends the session within
  the authenticator's cache time, CASEROUTE_AUTH_CACHE_S, as it does for the API).

Every POST, login included, must come from a page of this origin: `Sec-Fetch-Site` and `Origin`, when the
browser sends them, must say so, and the form must carry the session's CSRF token (login: a token signed with
CASEROUTE_CONSOLE_SECRET and bound to a nonce cookie). SameSite=Strict alone does not stop a page on the same
host and another port (same site, other origin) from posting as the logged-in user.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from services.caller import authenticator
from services.principal import Caller
from services.problems import Problem
from services.settings import Settings
from tracker.console import store
from tracker.handlers import Deps
from tracker.state import tracker_state

COOKIE = "caseroute_console"
LOGIN_COOKIE = "caseroute_console_login"  # the nonce the login form's token is bound to
CSRF_FIELD = "csrf_token"
LOGIN_FIELD = "login_token"
MAX_AGE_S = 8 * 3600  # one working shift
LOGIN_FORM_S = 3600  # a login form older than this is refused (asks to log in again)
CONSOLE_ROLES = ("adjudicator", "operator", "admin")
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="caseroute-console-login")


@lru_cache(maxsize=1)
def _process_secret() -> str:
    log.warning("CASEROUTE_CONSOLE_SECRET is unset: a login form works only on the replica that served it")
    return secrets.token_urlsafe(32)


def serializer(settings: Settings) -> URLSafeTimedSerializer:
    secret = settings.console_secret.get_secret_value() if settings.console_secret else _process_secret()
    return _serializer(secret)


def _deps(request: Request) -> Deps:
    deps = tracker_state(request).deps
    return deps


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console")


def login_needed() -> Problem:
    return Problem(303, "Login needed", "log in to the console first", headers={"Location": "/console/login"})


# --- origin -------------------------------------------------------------------------------------------------------

def same_origin(request: Request) -> None:
    """403 unless the browser says the request comes from a page of this origin.

    Browsers send `Sec-Fetch-Site` and `Origin` on every POST; a client that sends neither (curl, a script) is
    still held by the CSRF token. The origin is compared with the Host the browser addressed (scheme aside: a
    TLS-terminating proxy makes the app see http), so a page on another port of the same host is refused.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        raise Problem(403, "Cross-site request refused", f"a console form must come from the console itself "
                      f"(Sec-Fetch-Site: {fetch_site})")
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "").lower()
        if origin == "null" or not host or urlsplit(origin).netloc.lower() != host:
            raise Problem(403, "Cross-site request refused",
                          f"a console form must come from the console itself (Origin: {origin})")


async def _form_value(request: Request, field: str) -> str:
    value = (await request.form()).get(field)
    return value if isinstance(value, str) else ""


# --- login --------------------------------------------------------------------------------------------------------

def login_token(request: Request, settings: Settings) -> tuple[str, str]:
    """(nonce, token) for a login form: the token is the nonce signed, the nonce goes in a cookie
    (`set_login_nonce`) that a page of another origin cannot read.

    A page on another port of this host can set a cookie for it (cookies ignore ports), but without the secret it
    cannot sign a token for its nonce: so it cannot log the browser in under the attacker's own credential.
    """
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    return nonce, str(serializer(settings).dumps(nonce))


def set_login_nonce(response: Response, request: Request, nonce: str) -> None:
    _set_cookie(response, request, LOGIN_COOKIE, nonce, LOGIN_FORM_S)


async def check_login_form(request: Request, settings: Settings) -> None:
    """403 for a login POST from another origin or without this browser's signed login token."""
    same_origin(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    try:
        signed = serializer(settings).loads(await _form_value(request, LOGIN_FIELD), max_age=LOGIN_FORM_S)
    except BadData:
        signed = None
    if not nonce or not isinstance(signed, str) or not hmac.compare_digest(signed, nonce):
        raise Problem(403, "Login form refused", "the login form was not this console's or is too old; "
                      "open /console/login and log in again")


def _credential_expiry(caller: Caller, credential: str) -> datetime | None:
    """When a JWT expires (the authenticator has just verified it, so reading its claim is enough)."""
    if not caller.key.startswith("jwt:"):
        return None  # an API key's expiry and revocation are re-checked on every request
    exp = jwt.decode(credential, options={"verify_signature": False}).get("exp")
    return datetime.fromtimestamp(float(exp), UTC) if exp is not None else None


async def start(response: Response, request: Request, deps: Deps, caller: Caller, credential: str) -> None:
    """A new server-side session for a caller who has just proved the credential; its id goes in the cookie."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=MAX_AGE_S)
    token_expiry = _credential_expiry(caller, credential)
    if token_expiry is not None:
        expires_at = min(expires_at, token_expiry)
    session_id, _ = await store.create(deps.db, caller, now, expires_at)
    _set_cookie(response, request, COOKIE, session_id, max(1, int((expires_at - now).total_seconds())))
    response.delete_cookie(LOGIN_COOKIE, path="/console", httponly=True, samesite="strict")


async def end(request: Request, response: Response, deps: Deps) -> None:
    """Logout: the session row goes (every replica refuses the cookie from now on), then the cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        await store.end(deps.db, session_id)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


# --- every request ------------------------------------------------------------------------------------------------

async def current(request: Request) -> store.Session:
    """The request's live session, its key re-checked; else a redirect to the login page."""
    session_id = request.cookies.get(COOKIE)
    deps = _deps(request)
    found = await store.find(deps.db, session_id, datetime.now(UTC)) if session_id else None
    if found is None or found.caller.role not in CONSOLE_ROLES:
        raise login_needed()
    try:
        caller = await authenticator(request).recheck(found.caller)
    except Problem as exc:
        if exc.status != 401:
            raise
        assert session_id is not None
        await store.end(deps.db, session_id)  # revoked or expired: the session ends with its key
        raise login_needed() from exc
    request.state.console_csrf = found.csrf
    return store.Session(caller, found.csrf, found.expires_at)


async def console_caller(request: Request) -> Caller:
    """The logged-in caller of a console page (GET)."""
    return (await current(request)).caller


async def console_writer(request: Request) -> Caller:
    """The logged-in caller of a console form (POST): same origin, and the session's CSRF token in the form."""
    same_origin(request)
    session = await current(request)
    if not hmac.compare_digest(await _form_value(request, CSRF_FIELD), session.csrf):
        raise Problem(403, "Form refused", "the form did not carry this session's CSRF token; reload the page")
    return session.caller


def csrf_of(request: Request) -> str:
    """The CSRF token of the request's session, for the forms of the page being rendered ('' before login)."""
    return str(getattr(request.state, "console_csrf", ""))


ConsoleCaller = Annotated[Caller, Depends(console_caller)]
ConsoleWriter = Annotated[Caller, Depends(console_writer)]
