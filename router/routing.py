"""The router's decision procedure offered to the tracker (tracker.routing.Routing), wired in by the caseroute app."""

from __future__ import annotations

from collections.abc import Sequence

from catalogue.model import Catalogue
from catalogue.suggestions import Example, Suggestion
from router.domain.decide import decide
from router.domain.suggest import suggest
from router.rescue_file import compiled
from schemas.decision import Decision
from schemas.report import Report


class CatalogueRouting:
    """decide() and suggest() on a catalogue version, compiled once per version (compile_catalogue's cache)."""

    def decide(self, report: Report, catalogue: Catalogue) -> Decision:
        return decide(report, compiled(catalogue))

    def suggest(self, catalogue: Catalogue, examples: Sequence[Example]) -> list[Suggestion]:
        return suggest(compiled(catalogue), examples)
