"""One credential → one Caller: API keys from the database, JWTs from the issuer; results cached briefly.

A verified credential is trusted for `CASEROUTE_AUTH_CACHE_S` seconds (default 5) and never past its expiry, so
the hot paths do not pay a database round trip per request, and a revoked key stops working within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update

from schemas.roles import ROLES
from services.auth import keys
from services.auth.models import ApiKey
from services.auth.tokens import IssuerUnavailable, JwtVerifier, TokenInvalid
from services.db import Database
from services.principal import Caller
from services.problems import Problem
from services.settings import AuthSettings

_MAX_CACHED = 10_000


def unauthorised(detail: str) -> Problem:
    return Problem(401, "Not authenticated", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="caseroute", error="invalid_token"'})


class Authenticator:
    def __init__(self, settings: AuthSettings, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.jwt = JwtVerifier(settings)
        self._cache: dict[str, tuple[float, Caller]] = {}
        # Key id → (trusted until, caller) for `recheck`: a dict of its own, as a key id is no credential.
        self._rechecked: dict[str, tuple[float, Caller]] = {}

    async def verify(self, credential: str) -> Caller:
        """The caller of a credential, or a 401 Problem saying why not (503 if the issuer is unreachable)."""
        now = self.clock()
        cached = self._cache.get(credential)
        if cached is not None and cached[0] > now:
            return cached[1]
        api_key = keys.split(credential)
        if api_key is not None:
            caller, expires = await self._api_key(*api_key)
        else:
            caller, expires = await self._token(credential)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        # Never trusted past its own expiry (wall clock → monotonic), nor longer than the cache time.
        self._cache[credential] = (min(now + self.settings.cache_s, now + (expires - time.time())), caller)
        return caller

    def forget(self) -> None:
        """Drop every cached verification (after revoking a key in this process)."""
        self._cache.clear()
        self._rechecked.clear()

    async def _api_key(self, key_id: str, secret: str) -> tuple[Caller, float]:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            row = await session.get(ApiKey, key_id)
            if row is None or not keys.matches(row, secret):
                raise unauthorised("unknown API key")
            why = keys.usable(row, now)
            if why is not None:
                raise unauthorised(why)
            # Last use is written at most once per cache period per process, not on every request.
            await session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))
            caller = Caller(row.role, row.name, key=f"key:{key_id}", rate_limit=row.rate_limit)
            expires = row.expires_at.timestamp() if row.expires_at else float("inf")
        return caller, expires

    async def _token(self, token: str) -> tuple[Caller, float]:
        try:
            claims = await self.jwt.verify(token)
        except TokenInvalid as exc:
            raise unauthorised(f"invalid token: {exc}") from exc
        except IssuerUnavailable as exc:
            raise Problem(503, "Identity provider unreachable", "the token cannot be checked now; try again",
                          headers={"Retry-After": "5"}) from exc
        if claims.role not in ROLES:
            raise unauthorised(f"the token's role {claims.role!r} is none of {', '.join(ROLES)}")
        return Caller(claims.role, claims.name, key=f"jwt:{claims.subject}"), claims.expires_at

    async def recheck(self, caller: Caller) -> Caller:
        """The caller of a credential verified earlier (a console login), as its key stands now: 401 once the key
        is revoked or expired, within the same cache time as `verify`.

        Only the key id is kept after a login, never the secret, so this reads the key's row by id. A JWT cannot
        be re-read without the token; a session made from one ends at the token's expiry instead.
        """
        kind, _, ident = caller.key.partition(":")
        if kind != "key":
            return caller
        now = self.clock()
        cached = self._rechecked.get(ident)
        if cached is not None and cached[0] > now:
            return cached[1]
        at = datetime.now(UTC)
        async with self.db.sessions() as session:
            row = await session.get(ApiKey, ident)
            if row is None:
                raise unauthorised("unknown API key")
            why = keys.usable(row, at)
            if why is not None:
                raise unauthorised(why)
            current = Caller(row.role, row.name, key=caller.key, rate_limit=row.rate_limit)
            expires = row.expires_at.timestamp() if row.expires_at else float("inf")
        if len(self._rechecked) >= _MAX_CACHED:
            self._rechecked.clear()
        self._rechecked[ident] = (min(now + self.settings.cache_s, now + (expires - time.time())), current)
        return current
