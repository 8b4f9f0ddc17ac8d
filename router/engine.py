"""The catalogue version in force and the decide function bound to it, swapped without a restart."""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import Counter, Info

from catalogue.loader import load_catalogue
from catalogue.model import Catalogue, DuplicateSettings
from router.domain.compiled import CompiledCatalogue
from router.domain.decide import decide
from router.rescue_file import compiled
from schemas.decision import Decision
from schemas.report import Report

log = logging.getLogger(__name__)
CATALOGUE_INFO = Info("router_catalogue", "The catalogue version the router decides by")
CATALOGUE_SWAPS = Counter("router_catalogue_swaps_total", "Catalogue versions taken into force")


class Engine:
    """Holds the compiled catalogue in force; a swap is one reference assignment, so no lock is needed."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._compiled: CompiledCatalogue = compiled(catalogue)
        self._announce()

    @classmethod
    def from_file(cls, path: Path | None) -> Engine:
        """The catalogue of the settings, or the default (海曙) one shipped with the router."""
        return cls(load_catalogue(path))

    @property
    def catalogue(self) -> Catalogue:
        return self._compiled.catalogue

    @property
    def version(self) -> str:
        return self._compiled.catalogue.version

    @property
    def duplicate_settings(self) -> DuplicateSettings:
        return self._compiled.catalogue.settings.duplicate

    def decide(self, report: Report) -> Decision:
        return decide(report, self._compiled)

    def swap(self, catalogue: Catalogue) -> bool:
        """Put a validated catalogue into force; False when it is the version already in force."""
        if catalogue.version == self.version and catalogue == self.catalogue:
            return False
        self._compiled = compiled(catalogue)
        CATALOGUE_SWAPS.inc()
        self._announce()
        return True

    def _announce(self) -> None:
        CATALOGUE_INFO.info({"version": self.version, "district": self.catalogue.district})
        log.info("catalogue %s (%s) in force", self.version, self.catalogue.district)
