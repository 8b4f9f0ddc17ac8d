"""Who acts: a role and a name, as a plain value that handlers, stores and the domain take without importing the
HTTP layer (services.caller proves one from a request's credential)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        """`role:name`, as the audit log and case timelines record who acted."""
        return f"{self.role}:{self.name}"
