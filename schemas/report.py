"""The report: what a grid app, the hotline or an inspection submits (ROUTING.md §7 input)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from schemas.credit_code import credit_code_problem, normalise_credit_code
from schemas.text import StorableText
from schemas.time import Instant

ShortText = Annotated[str, Field(max_length=200)]


def _credit_code(code: str) -> str:
    if problem := credit_code_problem(code):
        raise ValueError(problem)
    return code


def _normalised(value: object) -> object:
    return normalise_credit_code(value) if isinstance(value, str) else value


# 统一社会信用代码, checked with its GB 32100-2015 check digit (a mistyped code links a case to the wrong business).
CreditCode = Annotated[str, BeforeValidator(_normalised), Field(max_length=18), AfterValidator(_credit_code)]


class Source(StrEnum):
    grid = "grid"
    hotline = "hotline"
    inspection = "inspection"
    public = "public"


class Hazard(StrEnum):
    none = "none"
    fire = "fire"
    safety = "safety"


class VenueSize(StrEnum):
    small = "small"
    large = "large"


class Location(BaseModel):
    """Where the problem is; `unit` is the catalogue's unit code when the reporter knows it."""

    model_config = ConfigDict(extra="forbid")

    unit: ShortText | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    grid: ShortText | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class Facts(BaseModel):
    """Structured facts a grid worker picked; they win over what the text suggests."""

    model_config = ConfigDict(extra="forbid")

    hazard: Hazard | None = None
    licensed: bool | None = None
    industry: ShortText | None = None
    venue_size: VenueSize | None = None
    credit_code: CreditCode | None = None  # the business's 统一社会信用代码 when the reporter has it (licence)


class Report(StorableText):
    """A report as intake accepts it and the router reads it."""

    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[str, Field(min_length=1, max_length=128)]
    source: Source
    reported_at: Instant
    location: Location = Field(default_factory=Location)
    title: Annotated[str, Field(max_length=500)] | None = None
    description: Annotated[str, Field(max_length=20_000)] = ""
    category: ShortText | None = None
    facts: Facts = Field(default_factory=Facts)
    reporter_name: Annotated[str, Field(max_length=100)] | None = None
    reporter_phone: Annotated[str, Field(max_length=40)] | None = None
    reporter_email: Annotated[str, Field(max_length=254)] | None = None
    callback_url: AnyHttpUrl | None = None
    attachments: Annotated[list[AnyHttpUrl], Field(max_length=20)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_text(self) -> Report:
        if not (self.title or "").strip() and not self.description.strip():
            raise ValueError("a report needs a title or a description")
        return self

    @property
    def text(self) -> str:
        """Title and description as one text, title first (the main complaint is named first)."""
        return "\n".join(part for part in (self.title, self.description) if part)


class HotlineCall(StorableText):
    """A 12345 hotline call as the hotline system publishes it on hotline.calls.v1."""

    model_config = ConfigDict(extra="ignore")

    call_id: Annotated[str, Field(min_length=1, max_length=128)]
    time: Instant
    transcript: Annotated[str, Field(min_length=1, max_length=20_000)]
    caller_number: Annotated[str, Field(max_length=40)] | None = None
    address: Annotated[str, Field(max_length=500)] | None = None

    def to_report(self) -> Report:
        """A call becomes a report of source hotline, deduped by its call id."""
        return Report(
            external_id=self.call_id,
            source=Source.hotline,
            reported_at=self.time,
            location=Location(address=self.address),
            description=self.transcript,
            reporter_phone=self.caller_number,
        )


ReportSource = Literal["grid", "hotline", "inspection", "public"]
