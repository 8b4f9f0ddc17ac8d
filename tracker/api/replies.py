"""Department replies over HTTP: ack (报到), feedback (反馈), return (退单), and closing a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from schemas.events import DepartmentReply, FeedbackOutcome, ReturnReason
from schemas.text import StorableText
from services.caller import CallerDep
from services.principal import Caller
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.domain.access import may_ever_close
from tracker.domain.case import CaseState
from tracker.domain.commands import IllegalTransition, NotAParty, NotYourCase
from tracker.handlers import CaseNotFound, close_case, handle_reply

router = APIRouter(tags=["replies"])


class AckBody(StorableText):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(max_length=2000)] = ""


class FeedbackBody(StorableText):
    model_config = ConfigDict(extra="forbid")
    outcome: FeedbackOutcome
    text: Annotated[str, Field(max_length=10_000)] = ""
    attachments: Annotated[list[AnyHttpUrl], Field(max_length=20)] = Field(default_factory=list)


class ReturnBody(StorableText):
    model_config = ConfigDict(extra="forbid")
    reason: ReturnReason
    text: Annotated[str, Field(max_length=10_000)] = ""


class ReplyResult(BaseModel):
    case_id: str
    status: str
    department: str | None
    attempt: int


ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "caller unknown"},
    403: {"description": "not a role that does this, or a case the caller is party to but does not hold"},
    404: {"description": "no such case, or not one the caller has a part in (as for reads)"},
    409: {"description": "not allowed in the case's state (told only to the case's parties)"},
}


def _department(caller: Caller) -> str:
    if caller.role != "department":
        raise Problem(403, "Departments only", f"{caller.actor} cannot reply for a department")
    return caller.name


async def _reply(reply: DepartmentReply, deps: DepsDep, caller: Caller) -> ReplyResult:
    try:
        state = await handle_reply(reply, deps, actor=caller.actor)
    except (CaseNotFound, NotAParty) as exc:
        raise Problem(404, "Case not found", f"no case {reply.case_id!r}") from exc
    except NotYourCase as exc:
        raise Problem(403, "Not your case", exc.reason) from exc
    except IllegalTransition as exc:
        raise Problem(409, "Not allowed now", exc.reason) from exc
    return _result(state)


def _result(state: CaseState) -> ReplyResult:
    return ReplyResult(case_id=state.case_id, status=state.status.value, department=state.department,
                       attempt=state.attempt)


@router.post("/v1/cases/{case_id}/ack", response_model=ReplyResult, responses=ERRORS)
async def acknowledge(case_id: str, deps: DepsDep, caller: CallerDep, body: AckBody | None = None) -> ReplyResult:
    """The department confirms it has the case (报到); repeating it changes nothing."""
    reply = DepartmentReply(case_id=case_id, department=_department(caller), kind="ack",
                            text=body.text if body else "")
    return await _reply(reply, deps, caller)


@router.post("/v1/cases/{case_id}/feedback", response_model=ReplyResult, responses=ERRORS)
async def feedback(case_id: str, body: FeedbackBody, deps: DepsDep, caller: CallerDep) -> ReplyResult:
    """The department reports the outcome (反馈); it reaches the street, safety-office and cc departments."""
    reply = DepartmentReply(case_id=case_id, department=_department(caller), kind="feedback",
                            outcome=body.outcome, text=body.text, attachments=body.attachments)
    return await _reply(reply, deps, caller)


@router.post("/v1/cases/{case_id}/return", response_model=ReplyResult, responses=ERRORS)
async def return_case(case_id: str, body: ReturnBody, deps: DepsDep, caller: CallerDep) -> ReplyResult:
    """The department hands the case back (退单) with a coded reason; the router tries the next candidate."""
    reply = DepartmentReply(case_id=case_id, department=_department(caller), kind="return",
                            reason=body.reason, text=body.text)
    return await _reply(reply, deps, caller)


@router.post("/v1/cases/{case_id}/close", response_model=ReplyResult, responses=ERRORS)
async def close(case_id: str, deps: DepsDep, caller: CallerDep) -> ReplyResult:
    """Close a case after its feedback: the street team of the case's unit (the department key
    street-<unit>), an operator or an admin confirms."""
    if not may_ever_close(caller):
        raise Problem(403, "Not allowed", "operators, admins and street teams close cases")
    try:
        return _result(await close_case(case_id, deps, caller=caller))
    except CaseNotFound as exc:
        raise Problem(404, "Case not found", f"no case {case_id!r}") from exc
    except NotYourCase as exc:
        raise Problem(403, "Not your case", exc.reason) from exc
    except IllegalTransition as exc:
        raise Problem(409, "Not allowed now", exc.reason) from exc
