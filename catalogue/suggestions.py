"""Suggested catalogue changes and accepting them: what the router's learning proposes and the tracker publishes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from catalogue.model import Catalogue
from schemas.report import Report

Kind = Literal["gazetteer", "alias"]
MINED_WEIGHT = 0.6  # an accepted word counts less than a hand-written one until it has proved itself


@dataclass(frozen=True)
class Example:
    """A case a human placed: the department that accepted it after a re-route, or the lead of a ruling."""

    case_id: str
    report: Report
    department: str  # bound, as dispatched: police-ximen, not police-{unit}
    how: str = "ruling"  # ruling | reroute | label


@dataclass
class Suggestion:
    """One word for the catalogue, with the cases that support it."""

    kind: Kind
    target: str  # gazetteer: a unit code; alias: industries.<code> or matters.<code>
    word: str
    support: list[str] = field(default_factory=list)
    seen_elsewhere: int = 0  # placed cases whose text holds the word but that went elsewhere

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.target}:{self.word}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "target": self.target, "word": self.word,
                "support": self.support, "seen_elsewhere": self.seen_elsewhere}


def with_suggestions(cat: Catalogue, accepted: Iterable[Suggestion]) -> dict[str, Any]:
    """The catalogue document with accepted suggestions added (places to the hand-kept gazetteer, words as
    aliases of their subject at a mined word's weight); the caller publishes it as a new version."""
    doc = cat.model_dump(mode="json")
    for s in accepted:
        if s.kind == "gazetteer":
            listed = doc.setdefault("gazetteer", {}).setdefault(s.target, [])
            if s.word not in listed:
                listed.append(s.word)
        else:
            section, code = s.target.split(".", 1)
            aliases = doc[section][code]["aliases"]
            if all((a if isinstance(a, str) else a["w"]) != s.word for a in aliases):
                aliases.append({"w": s.word, "weight": MINED_WEIGHT})
    return doc
