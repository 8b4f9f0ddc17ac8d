"""Who is calling an API: one dependency, replaced by real authentication in the security work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from services.problems import Problem

ROLES = ("department", "grid-app", "hotline", "adjudicator", "operator", "admin")


@dataclass(frozen=True)
class Caller:
    """A role and a name; for departments the name is the department code (e.g. amr, police-nanmen)."""

    role: str
    name: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


async def get_caller(x_caller: Annotated[str | None, Header(description="role:name, e.g. department:amr")] = None
               ) -> Caller:
    """The caller as the `X-Caller` header states it (trusted until API keys arrive)."""
    if not x_caller or ":" not in x_caller:
        raise Problem(401, "Caller unknown", "send X-Caller: <role>:<name>, e.g. department:amr")
    role, name = x_caller.split(":", 1)
    if role not in ROLES or not name.strip():
        raise Problem(401, "Caller unknown", f"role must be one of {', '.join(ROLES)}")
    return Caller(role, name.strip())


CallerDep = Annotated[Caller, Depends(get_caller)]
