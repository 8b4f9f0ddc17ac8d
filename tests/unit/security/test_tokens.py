"""OAuth2 bearer tokens: RS256 JWTs checked against a JWKS served over HTTP; every bad token is a 401."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from services.auth.authenticator import Authenticator
from services.db import Database
from services.problems import Problem
from services.settings import AuthSettings

ISSUER, AUDIENCE = "https://idp.example.test/realms/city", "caseroute"


class Jwks:
    """A JWKS endpoint on a loopback port, as an identity provider serves it."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys: list[dict[str, Any]] = [self.jwk(self.key, "k1")]
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"

    @staticmethod
    def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def token(key: Any, *, kid: str = "k1", algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "iat": now, "exp": now + 300,
            "caseroute_role": "department", "caseroute_name": "amr", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm,
                      headers={"kid": kid})


def authenticator(**settings: Any) -> Authenticator:
    # Explicit Nones: the test environment configures a shared secret for the other tests.
    base = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_leeway_s": 0, "jwt_hs_secret": None,
            "jwt_public_key": None, "jwt_jwks_url": None, **settings}
    return Authenticator(AuthSettings(**base), Database("sqlite+aiosqlite:///:memory:"))


async def refused(auth: Authenticator, credential: str, status: int = 401) -> str:
    with pytest.raises(Problem) as answer:
        await auth.verify(credential)
    assert answer.value.status == status, answer.value.detail
    return answer.value.detail or ""


async def test_a_token_of_the_issuer_names_the_caller_by_its_claims(jwks: Jwks) -> None:
    auth = authenticator(jwt_jwks_url=jwks.url)
    caller = await auth.verify(token(jwks.key))
    assert (caller.role, caller.name, caller.key) == ("department", "amr", "jwt:u-1")
    custom = authenticator(jwt_jwks_url=jwks.url, jwt_role_claim="role", jwt_name_claim="dept")
    assert (await custom.verify(token(jwks.key, role="operator", dept="ops-1"))).actor == "operator:ops-1"
    for _ in range(20):
        await auth.verify(token(jwks.key))
    assert jwks.fetches == 2, "the JWKS is cached, not fetched per request"


async def test_bad_signature_issuer_audience_expiry_kid_algorithm_and_role_are_401(jwks: Jwks) -> None:
    auth = authenticator(jwt_jwks_url=jwks.url)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = jwks.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    cases = {
        "signature": token(stranger),
        "issuer": token(jwks.key, iss="https://evil.example.test"),
        "audience": token(jwks.key, aud="someone-else"),
        "expired": token(jwks.key, exp=now - 10, iat=now - 400),
        "no expiry": token(jwks.key, exp=None),
        "unknown kid": token(jwks.key, kid="k9"),
        "role": token(jwks.key, caseroute_role="superuser"),
        "no role": token(jwks.key, caseroute_role=None),
        "alg none": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "caseroute_role": "admin",
                                "caseroute_name": "x"}, None, algorithm="none", headers={"kid": "k1"}),
        "HS256 with the public key": _hs256_with(public_pem),
        "garbage": "not-a-token",
    }
    for why, bad in cases.items():
        detail = await refused(auth, bad)
        assert detail, why
    assert len(cases) == 11


def _hs256_with(secret: bytes) -> str:
    """Algorithm confusion: an HS256 token 'signed' with the issuer's public key."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60,
                           "caseroute_role": "admin", "caseroute_name": "x"}).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


async def test_a_rotated_issuer_key_is_fetched_and_an_unreachable_issuer_is_503(jwks: Jwks) -> None:
    auth = authenticator(jwt_jwks_url=jwks.url)
    assert (await auth.verify(token(jwks.key))).name == "amr"
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys.append(Jwks.jwk(rotated, "k2"))
    auth.jwt._jwks_at -= 31  # the refetch for unknown key ids is rate limited to every 30 s
    assert (await auth.verify(token(rotated, kid="k2"))).name == "amr"
    gone = authenticator(jwt_jwks_url="http://127.0.0.1:9/certs")
    await refused(gone, token(jwks.key), status=503)


async def test_static_keys_and_no_issuer(jwks: Jwks) -> None:
    pem = jwks.key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    by_pem = authenticator(jwt_public_key=SecretStr(pem))
    assert (await by_pem.verify(token(jwks.key))).role == "department"
    shared = authenticator(jwt_hs_secret=SecretStr("s" * 40))
    assert (await shared.verify(token("s" * 40, algorithm="HS256"))).role == "department"
    await refused(shared, token("t" * 40, algorithm="HS256"))
    await refused(shared, token(jwks.key))  # an RS256 token where only the shared secret is configured
    nobody = Authenticator(AuthSettings(jwt_issuer=None), Database("sqlite+aiosqlite:///:memory:"))
    assert "no issuer" in await refused(nobody, token(jwks.key))


async def test_a_cached_token_is_not_trusted_past_its_expiry(jwks: Jwks) -> None:
    auth = authenticator(jwt_jwks_url=jwks.url, cache_s=60)
    expiry = int(time.time()) + 2  # at least a second left for the first check (a JWKS fetch) on a busy machine
    short = token(jwks.key, exp=expiry)
    assert (await auth.verify(short)).name == "amr"
    await asyncio.sleep(expiry - time.time() + 0.2)
    await refused(auth, short)
