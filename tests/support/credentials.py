"""Credentials for tests: every test that calls an API as someone asks here, so auth changes land once."""

from __future__ import annotations


def credential_for(role: str, name: str) -> str:
    """A credential the services accept for this caller."""
    return f"{role}:{name}"


def auth_headers(role: str, name: str) -> dict[str, str]:
    """Request headers that authenticate as this caller."""
    return {"X-Caller": credential_for(role, name)}
