"""The router's current catalogue and the decide function bound to it (swapped without a restart)."""

from __future__ import annotations

from collections.abc import Callable

from schemas.decision import Decision, DecisionStatus
from schemas.report import Hazard, Report

DecideFn = Callable[[Report], Decision]

PLACEHOLDER_VERSION = "placeholder-0"


def placeholder_decide(report: Report) -> Decision:
    """Until a catalogue is loaded every case is a gap for the adjudicator (R10)."""
    return Decision(external_id=report.external_id, status=DecisionStatus.gap, rule="R10",
                    primary="establishment-office", deadline_days=5, hazard=Hazard.none,
                    unit=report.location.unit, confidence=0.0, catalogue_version=PLACEHOLDER_VERSION)


class Engine:
    """Holds the decide function of the catalogue version in force."""

    def __init__(self, decide: DecideFn = placeholder_decide, version: str = PLACEHOLDER_VERSION) -> None:
        self.decide = decide
        self.version = version

    def swap(self, decide: DecideFn, version: str) -> None:
        self.decide, self.version = decide, version
