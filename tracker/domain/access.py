"""Who may see which case: departments their own, reporting systems what they reported, overseers all.

A case a caller may not see is answered as if it did not exist (404), so its id tells nothing; that holds for
acting on it too: authorisation is decided before the case's state is looked at (a refusal by state, 409, tells
the state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.roles import OVERSEERS
from services.principal import Caller


@dataclass(frozen=True)
class CaseParties:
    """What decides access to a case: who holds it, held it or hears of it, where, and who reported it."""

    department: str | None
    unit: str | None
    source: str | None
    submitted_by: str | None
    involved: frozenset[str]  # every department dispatched to (any attempt), cooperating or in copy


def parties(department: str | None, unit: str | None, source: str | None, submitted_by: str | None,
            attempts: Iterable[str], decision_departments: Iterable[str]) -> CaseParties:
    involved = {d for d in (*attempts, *decision_departments) if d}
    if department:
        involved.add(department)
    return CaseParties(department, unit, source, submitted_by, frozenset(involved))


# Roles that may close a case whatever its unit; a street team (a department named street-<unit>) closes its
# unit's cases only.
CLOSERS = ("operator", "admin")
STREET_PREFIX = "street-"


def street_of(unit: str | None) -> str | None:
    """The department code of a unit's street team."""
    return f"{STREET_PREFIX}{unit}" if unit else None


def oversees(caller: Caller) -> bool:
    """An overseer sees every case and the personal data in it (each such read audited)."""
    return caller.role in OVERSEERS


def may_read(caller: Caller, case: CaseParties) -> bool:
    if oversees(caller):
        return True
    if caller.role == "department":
        # The street team (street-<unit>) follows every case of its unit: it closes them.
        return caller.name in case.involved or caller.name == street_of(case.unit)
    if caller.role in ("grid-app", "hotline"):
        # Hotline calls arrive on a topic, not from a key: the hotline system reads every hotline case.
        return case.submitted_by == caller.actor or (caller.role == "hotline" and case.source == "hotline")
    return False


def is_party(department: str, case: CaseParties) -> bool:
    """Whether a department has a part in the case (holds or held it, cooperates, is in copy, or is the street
    team of its unit): the departments whose replies are answered by the case's state rather than 404."""
    return may_read(Caller("department", department), case)


def may_ever_close(caller: Caller) -> bool:
    """Whether the caller's role could close some case: operators, admins and street teams (decided before any
    case is looked up, so it tells nothing about one)."""
    return caller.role in CLOSERS or (caller.role == "department" and caller.name.startswith(STREET_PREFIX))


def may_close(caller: Caller, case: CaseParties) -> bool:
    """Operators and admins close any case; a street team only the cases of its own unit. The role counts, not
    only the name: a grid-app key named street-<unit> closes nothing."""
    if caller.role in CLOSERS:
        return True
    return caller.role == "department" and caller.name == street_of(case.unit)
