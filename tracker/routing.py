"""The router's decision procedure as the tracker needs it: a port, so the tracker never imports the router.

Re-routing gap cases by a saved rule asks which rule the catalogue in force decides a report by, and the loop's
suggestions decide placed cases again: both are the router's domain (classification, rules R1-R10). The
caseroute app wires the router's implementation in (`tracker.bootstrap.build(runtime, routing=...)`), in
process, so a decision here is the one the router takes for the same report and catalogue version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalogue.model import Catalogue
from catalogue.suggestions import Example, Suggestion
from schemas.decision import Decision
from schemas.report import Report


class Routing(Protocol):
    def decide(self, report: Report, catalogue: Catalogue) -> Decision:
        """The decision the router takes for this report under this catalogue version (pure)."""
        ...

    def suggest(self, catalogue: Catalogue, examples: Sequence[Example]) -> list[Suggestion]:
        """Places and words the catalogue lacks, learnt from the cases humans placed (pure)."""
        ...


class NoRouting:
    """A tracker built without the router's decision procedure: what needs it refuses, saying why."""

    def decide(self, report: Report, catalogue: Catalogue) -> Decision:
        raise RuntimeError("this tracker was built without the router's decision procedure (see caseroute.wiring)")

    def suggest(self, catalogue: Catalogue, examples: Sequence[Example]) -> list[Suggestion]:
        raise RuntimeError("this tracker was built without the router's decision procedure (see caseroute.wiring)")
