"""Rulings saved as rules (裁决入库): which one covers a report that R1-R9 left to R10."""

from __future__ import annotations

from dataclasses import dataclass

from catalogue.model import Catalogue, CatalogueRuling
from router.domain.lexicon import variants
from router.domain.text import normalise


@dataclass(frozen=True, slots=True)
class CompiledRuling:
    """A ruling with its terms normalised once, each with the spelling variants the catalogue knows."""

    ruling: CatalogueRuling
    terms: tuple[tuple[str, tuple[str, ...]], ...]  # (the term as ruled, its normalised forms)


@dataclass(frozen=True, slots=True)
class RulingMatch:
    ruling: CatalogueRuling
    words: list[str]  # the ruling's terms found in the report


def compile_rulings(cat: Catalogue) -> tuple[CompiledRuling, ...]:
    """Newest first, so a later ruling on the same kind of case overrides an earlier one."""
    out = []
    for ruling in reversed(cat.rulings):
        terms = tuple((t, tuple(dict.fromkeys(variants(normalise(t), cat.spelling)))) for t in ruling.match.terms)
        out.append(CompiledRuling(ruling, terms))
    return tuple(out)


def matching_ruling(text: str, unit: str | None, rulings: tuple[CompiledRuling, ...]) -> RulingMatch | None:
    """The newest ruling whose terms (at least min_terms of them) occur in the normalised text, in its units."""
    for compiled in rulings:
        match = compiled.ruling.match
        if match.units and unit not in match.units:
            continue
        words = [term for term, forms in compiled.terms if any(form in text for form in forms)]
        if len(words) >= match.min_terms:
            return RulingMatch(compiled.ruling, words)
    return None
