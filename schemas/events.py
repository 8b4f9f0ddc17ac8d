"""Event payloads and their type names; the type names the payload and its version (v1 unless VERSIONS says
otherwise; an incompatible payload gets a new type), and the optional `dataschema` URI repeats it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from schemas.decision import Decision, Rule, Tier
from schemas.report import Report
from schemas.text import StorableText
from schemas.time import Instant

SCHEMA_BASE = "urn:caseroute:schema"


def dataschema(event_type: str, version: int | None = None) -> str:
    """The dataschema URI of an event type at a payload version (by default the type's, VERSIONS)."""
    return f"{SCHEMA_BASE}:{event_type}:v{version or VERSIONS.get(event_type, 1)}"


class EventType(StrEnum):
    report_accepted = "caseroute.report.accepted"
    case_routed = "caseroute.case.routed"
    case_dispatched = "caseroute.case.dispatched"
    reply_ack = "caseroute.reply.ack"
    reply_feedback = "caseroute.reply.feedback"
    reply_return = "caseroute.reply.return"
    case_transition = "caseroute.case.transition"  # v1 of case-events: one event per transition (read, not written)
    case_changed = "caseroute.case.changed"  # v2 of case-events: one event per case per tracker transaction
    case_ruled = "caseroute.case.ruled"
    inspection_opened = "caseroute.inspection.opened"
    case_escalated = "caseroute.case.escalated"
    case_feedback = "caseroute.case.feedback"
    catalogue_published = "caseroute.catalogue.published"
    statement_monthly = "caseroute.statement.monthly"


# Payload versions other than 1. case.changed is version 2 of what case-events.v1 says of a case: its
# transitions of one tracker transaction in one event, where version 1 (case.transition, case.escalated) sent
# one event per transition.
VERSIONS: dict[str, int] = {EventType.case_changed: 2}

# What each topic carries, so its consumers refuse the rest (a payload version they were not written for).
# case-events: the tracker writes case.changed; case.transition and case.escalated (version 1) are still read,
# for what an older tracker published before an upgrade.
CASE_EVENTS = (EventType.case_changed, EventType.case_ruled, EventType.inspection_opened,
               EventType.case_transition, EventType.case_escalated)
DEPARTMENT_EVENTS = (EventType.case_dispatched, EventType.case_feedback, EventType.case_escalated)
REPLIES = (EventType.reply_ack, EventType.reply_feedback, EventType.reply_return)


class ReportAccepted(BaseModel):
    """Intake accepted a report and gave it a case id (reports.v1)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    report: Report
    accepted_at: Instant
    submitted_by: str | None = None  # the caller (role:name) who posted it; grid apps read their own cases


class CaseRouted(BaseModel):
    """The router decided (routed.v1); attempt 1 is the first dispatch, later ones follow returns."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    attempt: Annotated[int, Field(ge=1)] = 1
    decision: Decision
    excluded: list[str] = Field(default_factory=list)
    report: Report
    accepted_at: Instant | None = None  # when intake accepted the report (the case's received time)
    submitted_by: str | None = None  # as in ReportAccepted


class CaseDispatched(BaseModel):
    """What a department receives on dispatch.<department>.v1."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    attempt: Annotated[int, Field(ge=1)] = 1
    department: str
    role: str = "primary"  # primary | cooperating | cc
    rule: Rule
    deadline_days: int
    ack_hours: float
    unit: str | None = None
    title: str | None = None
    description: str
    address: str | None = None
    reported_at: Instant
    reply_url: str | None = None
    # The credit tier of the business or place the case is about (A clean … D repeat offender), and its id: a
    # department sees at once that it is dealing with a repeat offender. None: no subject, or not rated yet.
    tier: Tier | None = None
    subject: str | None = None  # the subject's id (S…; GET /v1/subjects/{id}), once the tracker has rated it


class CaseRuled(BaseModel):
    """An adjudicator ruled a case (case-events.v1): the router dispatches it to the lead and the cooperating
    departments as it dispatches any decision (the case's report is the router's own record, not carried here)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    attempt: Annotated[int, Field(ge=1)]  # the dispatch the ruling opens (the tracker's attempt count)
    rule: Rule  # the rule the dispatch carries: RULING
    rule_id: str | None = None  # the saved ruling (catalogue rule) it applied, when re-routed by one or saved
    lead: str
    cooperating: list[str] = Field(default_factory=list)
    principle: str  # competent | main | nearest | legal | no_basis
    basis: str = ""  # the legal basis of a ruling by law
    unit: str | None = None
    deadline_days: Annotated[int, Field(ge=1)]
    ack_hours: Annotated[float, Field(gt=0)]
    ruled_by: str  # role:name
    at: Instant
    tier: Tier | None = None  # the case's subject's credit tier, as on any dispatch
    subject: str | None = None


class InspectionOpened(BaseModel):
    """A supervision trigger opened a joint inspection (联合检查, case-events.v1): a case of its own, with a notice
    the tracker wrote (no personal data), which the router dispatches as it dispatches any decision."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    attempt: Annotated[int, Field(ge=1)]
    rule: Rule  # JOINT
    trigger: str  # the catalogue trigger's id
    lead: str
    cooperating: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)  # the street team and safety-office
    unit: str | None = None
    deadline_days: Annotated[int, Field(ge=1)]
    ack_hours: Annotated[float, Field(gt=0)]
    tier: Tier | None = None
    subject: str | None = None
    notice: Report  # what the departments receive as the case's report


class FeedbackOutcome(StrEnum):
    resolved = "resolved"
    rectification_ordered = "rectification_ordered"
    penalised = "penalised"
    shut_down = "shut_down"
    referred = "referred"
    not_found = "not_found"


class ReturnReason(StrEnum):
    wrong_unit = "wrong_unit"  # 属地不符
    not_our_remit = "not_our_remit"  # 职能不符
    overlapping_remits = "overlapping_remits"  # 职能交叉
    insufficient_information = "insufficient_information"  # 信息不全
    duplicate = "duplicate"  # 重复


class DepartmentReply(StorableText):
    """A department's answer on its own replies.<department>.v1 (or through the tracker's HTTP API)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    department: str  # on Kafka it must be the topic's department, or the reply is dead-lettered
    kind: str  # ack | feedback | return
    text: Annotated[str, Field(max_length=10_000)] = ""
    outcome: FeedbackOutcome | None = None
    reason: ReturnReason | None = None
    attachments: Annotated[list[AnyHttpUrl], Field(max_length=20)] = Field(default_factory=list)
    at: Instant | None = None


class CaseTransition(BaseModel):
    """A state change of a case: one of a case.changed event's transitions (and the whole data of a version 1
    case.transition event)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    kind: str = ""  # past tense: received, routed, dispatched, acknowledged, returned, escalated, ...
    from_status: str | None
    to_status: str
    actor: str
    at: Instant
    department: str | None = None
    detail: dict[str, object] = Field(default_factory=dict)


class CaseSnapshot(BaseModel):
    """A case's state after a case.changed event's transitions: where it stands, without reading the tracker."""

    model_config = ConfigDict(extra="forbid")

    status: str
    department: str | None = None  # the department it is dispatched to (None: nobody has it)
    attempt: Annotated[int, Field(ge=0)] = 0  # dispatches so far (the current one's number)
    unit: str | None = None
    ack_due_at: Instant | None = None
    feedback_due_at: Instant | None = None  # None while disputed: the clock is paused
    overdue: bool = False


class CaseChanged(BaseModel):
    """What one tracker transaction did to a case (case-events.v1, payload version 2): its transitions in the
    order they happened, and its state after them. A new case received, routed and dispatched in one
    transaction is one event of three transitions (version 1 sent three events)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    transitions: Annotated[list[CaseTransition], Field(min_length=1)]
    state: CaseSnapshot


class FeedbackNotice(BaseModel):
    """The outcome of a case, sent to street-{unit}, safety-office and cc departments (流转反馈)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    to: str
    department: str
    outcome: FeedbackOutcome
    text: str = ""
    attachments: list[str] = Field(default_factory=list)
    at: Instant


class EscalationNotice(BaseModel):
    """A supervision notice (督办) for safety-office: who is overdue with what, and by how long."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    kind: str  # ack_overdue | feedback_overdue
    department: str
    attempt: int
    due_at: Instant
    overdue_seconds: float
    at: Instant


class CataloguePublished(BaseModel):
    """A catalogue version on the compacted catalogue.v1 topic (key: the catalogue id, e.g. the district)."""

    model_config = ConfigDict(extra="forbid")

    catalogue_id: str
    version: str
    document: dict[str, object]
    published_by: str
    reason: str = ""
    from_case: str | None = None
    published_at: Instant


class StatementPublished(BaseModel):
    """The monthly statement (信息互通) is ready (statements.v1): links to it and its headline figures as they
    stood when it was produced; the files themselves are read from the tracker with an overseer's or
    safety-office's key."""

    model_config = ConfigDict(extra="forbid")

    month: str  # 2026-11
    to: str  # safety-office (区安委办)
    since: Instant
    until: Instant
    produced_at: Instant
    links: dict[str, str]  # json, xlsx, pdf → URL on the tracker
    received: int
    dispatched: int
    dispatch_success: float | None
    first_dispatch_accuracy: float | None
    returns: int
    escalations: int
    gaps: int
