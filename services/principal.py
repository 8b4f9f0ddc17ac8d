"""Who acts: a role and a name, as a plain value the domain can take without importing the HTTP layer.

services.caller proves a Caller from a request's credential (FastAPI); tracker.domain decides what a Caller may
see and do, and imports only this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# `public`: an Open311 client (a civic app) that submits reports of source public through /open311/v2 only.
ROLES = ("department", "grid-app", "hotline", "public", "adjudicator", "operator", "admin")
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
