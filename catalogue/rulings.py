"""Decisions made by a saved ruling (裁决入库): the rule name they carry and the evidence that names the ruling.

The router writes that evidence, the tracker reads the ruling's id back from a decision (re-routing by a rule):
both sides of the format live here.
"""

from __future__ import annotations

from catalogue.model import CatalogueRuling
from schemas.decision import Decision, Rule

RULING = Rule.RULING  # the rule of a decision made by a saved ruling (ROUTING §6), never R10
_PREFIX = "ruling "


def ruling_evidence(ruling: CatalogueRuling) -> str:
    """The `what` of a decision's ruling evidence: which ruling, its lead and principle, who ruled and when."""
    origin = f" from case {ruling.from_case}" if ruling.from_case else ""
    return (f"{_PREFIX}{ruling.id}: lead {ruling.lead} by {ruling.principle}{origin}, "
            f"ruled by {ruling.ruled_by} at {ruling.ruled_at.isoformat()}")


def ruling_of(decision: Decision) -> str | None:
    """The id of the saved ruling a decision was made by (its evidence names it), or None."""
    if decision.rule != RULING:
        return None
    for e in decision.evidence:
        if e.kind == "ruling" and e.what.startswith(_PREFIX):
            return e.what[len(_PREFIX):].split(":", 1)[0]
    return None
