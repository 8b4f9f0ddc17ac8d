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


class Rule(StrEnum):
    """The rule a decision was made by (docs/ROUTING.md): R1–R10, or a saved ruling of the catalogue."""

    R1 = "R1"  # fire hazard, small: the station of the unit
    R2 = "R2"  # fire hazard: the fire brigade
    R3 = "R3"  # safety hazard of an unlicensed business
    R4 = "R4"  # safety hazard with a regulator
    R5 = "R5"  # safety hazard: the safety office
    R6 = "R6"  # licensed business, outside its licence
    R7 = "R7"  # unlicensed, with a prerequisite permit
    R8 = "R8"  # unlicensed, plain business licence
    R9 = "R9"  # a matter of the catalogue
    R10 = "R10"  # a gap: the adjudication queue
    RULING = "RULING"  # a saved ruling (裁决入库) of the catalogue in force


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
    rule: Rule
    score: float


class Decision(BaseModel):
    """Who must handle a report, by which rule, and why."""

    model_config = ConfigDict(extra="forbid")

    external_id: str
    status: DecisionStatus
    rule: Rule
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
