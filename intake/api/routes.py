"""Intake's HTTP API: POST /v1/reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from intake.domain.submitters import refusal
from intake.state import intake_state
from schemas.report import Report
from services.auth.ratelimit import rate_limited
from services.netguard import url_refusal
from services.principal import Caller
from services.problems import Problem
from services.runtime import Runtime

router = APIRouter(tags=["intake"])


# Who may submit, each within its key's rate (429 with Retry-After beyond it).
Submitter = Annotated[Caller, Depends(rate_limited("grid-app", "hotline", "operator", "admin"))]


class ReportAcceptedResponse(BaseModel):
    case_id: str
    status: str
    status_url: str
    duplicate_submission: bool


@router.post("/v1/reports", status_code=202, response_model=ReportAcceptedResponse,
             responses={401: {"description": "not authenticated"}, 403: {"description": "role may not submit"},
                        422: {"description": "invalid report"}, 429: {"description": "over the key's rate"},
                        503: {"description": "database unavailable"}})
async def post_report(report: Report, request: Request, caller: Submitter) -> Response:
    """Accept a report: 202 with its case id; the same external_id again from the same submitter (role and name
    of the key or token) gives the same case. Each role submits only its own sources (403 otherwise)."""
    runtime: Runtime = request.app.state.runtime
    refused = refusal(caller.role, report.source)
    if refused is not None:
        raise Problem(403, "Source not allowed", refused)
    if report.callback_url is not None:  # the notifier POSTs to it: never to our own or a private network
        unsafe = await url_refusal(str(report.callback_url), runtime.settings.outbound_networks)
        if unsafe is not None:
            raise Problem(422, "Callback URL not allowed", unsafe)
    acceptor = intake_state(request).acceptor
    try:
        accepted = await acceptor.accept(report, submitted_by=caller.actor)
    # PoolTimeout: every connection busy (a burst, or the database slow to answer); the client may retry.
    except (OperationalError, DBAPIError, OSError, PoolTimeout) as exc:
        raise Problem(503, "Database unavailable", "the report was not stored; try again",
                      headers={"Retry-After": "5"}) from exc
    status_url = f"{runtime.settings.public_base_url}/v1/cases/{accepted.case_id}"
    # The answer as bytes: FastAPI would validate it against the response model and encode it with the
    # stdlib json, a visible share of each request's CPU; the model still documents it.
    body = ReportAcceptedResponse(case_id=accepted.case_id, status="accepted", status_url=status_url,
                                  duplicate_submission=not accepted.created)
    return Response(body.model_dump_json(), status_code=202, media_type="application/json",
                    headers={"Location": status_url})
