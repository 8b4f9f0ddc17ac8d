"""The router's decision for one report (ROUTING.md §7 output)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

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
    R6 = "R6"  # unlicensed construction in progress
    R7 = "R7"  # unlicensed, with a prerequisite permit
    R8 = "R8"  # unlicensed, plain business licence
    R9 = "R9"  # a matter of the catalogue
    R10 = "R10"  # a gap: the adjudication queue
    RULING = "RULING"  # a saved ruling (裁决入库) of the catalogue in force
    JOINT = "JOINT"  # a joint inspection (联合检查) a supervision trigger opened


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


Tier = Literal["A", "B", "C", "D"]  # credit tier (分级式信用监管): A a clean record … D a repeat offender


class SubjectRef(BaseModel):
    """The business or place a report is about, as the router could tell from it (issue 15 §1).

    `keys` link it to a subject, strongest first: `uscc:<credit code>`, `name:<unit>:<address>:<business name>`,
    `place:<unit>:<address>`; the tracker links the case to the subject of the first key it knows."""

    model_config = ConfigDict(extra="forbid")

    keys: list[str]
    id: str | None = None  # the tracker's subject id (S…), once it rated the subject (None: a new subject)
    name: str | None = None  # the business name found in the report
    address: str | None = None  # normalised
    credit_code: str | None = None
    tier: Tier | None = None  # the subject's tier when the router decided (None: a subject not rated yet)


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
    subject: SubjectRef | None = None
