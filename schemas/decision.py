"""The router's decision for one report (ROUTING.md §7 output)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.report import Hazard


class DecisionStatus(StrEnum):
    routed = "routed"
    gap = "gap"
    duplicate = "duplicate"


class Evidence(BaseModel):
    """One thing that decided: a structured field or words found in the text."""

    model_config = ConfigDict(extra="forbid")

    kind: str  # field | lexicon | gazetteer | rule | ruling | model
    what: str  # e.g. "hazard=fire", "industry=catering"
    source: str  # e.g. "facts.hazard", "title", "description"
    words: list[str] = Field(default_factory=list)


class Candidate(BaseModel):
    """A ranked alternative department, used when the primary returns the case."""

    model_config = ConfigDict(extra="forbid")

    department: str
    rule: str
    score: float


class Decision(BaseModel):
    """Who must handle a report, by which rule, and why."""

    model_config = ConfigDict(extra="forbid")

    external_id: str
    status: DecisionStatus
    rule: str
    primary: str
    cooperating: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    feedback_to: list[str] = Field(default_factory=list)
    deadline_days: int
    ack_hours: Annotated[float, Field(gt=0)] = 24
    hazard: Hazard
    industry: str | None = None
    matter: str | None = None
    licensed: bool | None = None
    unit: str | None = None
    unit_fallback: bool = False
    confidence: Annotated[float, Field(ge=0, le=1)]
    evidence: list[Evidence] = Field(default_factory=list)
    alternatives: list[Candidate] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    duplicate_of: str | None = None
    catalogue_version: str
