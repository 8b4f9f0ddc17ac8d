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
    subject: SubjectRef | None = None
