"""Who may see which case: departments their own, reporting systems what they reported, overseers all.

A case a caller may not see is answered as if it did not exist (404), so its id tells nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.caller import Caller


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


def may_read(caller: Caller, case: CaseParties) -> bool:
    if caller.oversees:
        return True
    if caller.role == "department":
        # The street team (street-<unit>) follows every case of its unit: it closes them.
        return caller.name in case.involved or (case.unit is not None and caller.name == f"street-{case.unit}")
    if caller.role in ("grid-app", "hotline"):
        # Hotline calls arrive on a topic, not from a key: the hotline system reads every hotline case.
        return case.submitted_by == caller.actor or (caller.role == "hotline" and case.source == "hotline")
    return False
