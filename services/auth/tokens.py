"""OAuth2 bearer tokens: JWTs of a configured issuer, checked against its JWKS, a PEM key or a shared secret."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from services.settings import AuthSettings

ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class TokenInvalid(Exception):
    """The token is not one we accept (signature, issuer, audience, expiry, claims); the reason says which."""


class IssuerUnavailable(Exception):
    """The issuer's keys could not be fetched: the token can be neither accepted nor refused now."""


@dataclass(frozen=True)
class TokenClaims:
    role: str
    name: str
    subject: str
    expires_at: float  # epoch seconds


class JwtVerifier:
    """Verifies JWTs; the JWKS is fetched lazily, cached, and fetched again for a key id it does not know."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._jwks: dict[str, jwt.PyJWK] = {}
        self._jwks_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        s = self.settings
        return bool(s.jwt_issuer) and bool(s.jwt_jwks_url or s.jwt_public_key or s.jwt_hs_secret)

    async def verify(self, token: str) -> TokenClaims:
        if not self.enabled:
            raise TokenInvalid("this deployment accepts no JWTs (no issuer configured)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalid("not a JWT") from exc
        key, algorithms = await self._key_for(header)
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=algorithms, issuer=s.jwt_issuer, audience=s.jwt_audience,
                leeway=s.jwt_leeway_s, options={"require": ["exp", "iss"], "verify_aud": s.jwt_audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from exc
        role, name = claims.get(s.jwt_role_claim), claims.get(s.jwt_name_claim) or claims.get("sub")
        if not isinstance(role, str) or not isinstance(name, str) or not name:
            raise TokenInvalid(f"the token lacks the claims {s.jwt_role_claim!r} and {s.jwt_name_claim!r}")
        return TokenClaims(role=role, name=name, subject=str(claims.get("sub", name)), expires_at=float(claims["exp"]))

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        s = self.settings
        algorithm = header.get("alg")
        if s.jwt_hs_secret is not None:
            return s.jwt_hs_secret.get_secret_value(), ["HS256"]
        if algorithm not in ASYMMETRIC:
            # Never let the token choose a symmetric check against a public key (algorithm confusion).
            raise TokenInvalid(f"algorithm {algorithm!r} is not accepted")
        if s.jwt_public_key is not None:
            return s.jwt_public_key.get_secret_value(), [algorithm]
        jwk = await self._jwk(str(header.get("kid", "")))
        return jwk.key, [jwk.algorithm_name if jwk.algorithm_name in ASYMMETRIC else algorithm]

    async def _jwk(self, kid: str) -> jwt.PyJWK:
        stale = time.monotonic() - self._jwks_at > self.settings.jwks_cache_s
        if kid not in self._jwks or stale:
            async with self._lock:
                # Unknown key ids refetch at most every 30 s, so forged kids cannot make us hammer the issuer.
                if stale or (kid not in self._jwks and time.monotonic() - self._jwks_at > 30):
                    await self._fetch()
        if kid not in self._jwks:
            if not kid and len(self._jwks) == 1:
                return next(iter(self._jwks.values()))
            raise TokenInvalid(f"the issuer has no key {kid!r}")
        return self._jwks[kid]

    async def _fetch(self) -> None:
        url = self.settings.jwt_jwks_url
        assert url is not None
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            if self._jwks:  # keep the keys we have; try again later
                self._jwks_at = time.monotonic() - self.settings.jwks_cache_s + 30
                return
            raise IssuerUnavailable(f"JWKS {url}: {exc!r}") from exc
        self._jwks = {str(k.key_id or ""): k for k in keys}
        self._jwks_at = time.monotonic()
