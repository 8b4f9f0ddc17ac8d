"""Credentials for tests: every test that calls an API as someone asks here, so auth changes land once.

Tests authenticate with JWTs signed by a test-only shared secret; tests/conftest.py configures the services
(in process and, through the environment, the service processes e2e tests start) to accept exactly these.
"""

from __future__ import annotations

import time

import jwt

TEST_ISSUER = "caseroute-tests"
TEST_AUDIENCE = "caseroute"
TEST_SECRET = "test-only-shared-secret-never-used-outside-tests-0123456789"

TEST_AUTH_ENV = {
    "CASEROUTE_AUTH_JWT_ISSUER": TEST_ISSUER,
    "CASEROUTE_AUTH_JWT_AUDIENCE": TEST_AUDIENCE,
    "CASEROUTE_AUTH_JWT_HS_SECRET": TEST_SECRET,
    # Load tests post thousands of reports through one credential; the rate-limit tests set their own budget.
    "CASEROUTE_AUTH_RATE_LIMITS": '{"default": 0}',
}


def credential_for(role: str, name: str, *, lifetime_s: float = 86_400) -> str:
    """A credential the services accept for this caller."""
    now = int(time.time())
    claims = {"iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": f"{role}:{name}", "iat": now,
              "exp": now + int(lifetime_s), "caseroute_role": role, "caseroute_name": name}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


def auth_headers(role: str, name: str) -> dict[str, str]:
    """Request headers that authenticate as this caller."""
    return {"Authorization": f"Bearer {credential_for(role, name)}"}


# Most tests act as an operator: it may submit reports and read every case.
OPERATOR = auth_headers("operator", "tests")
