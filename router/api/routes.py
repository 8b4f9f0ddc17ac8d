"""Router HTTP API: explain a decision without creating a case."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from router.state import router_state
from schemas.decision import Decision
from schemas.report import Report
from schemas.roles import OVERSEERS
from services.caller import require_roles

router = APIRouter(tags=["router"])


# Grid apps and the hotline preview before submitting; adjudicators, operators and admins when ruling.
@router.post("/v1/route:preview", response_model=Decision,
             dependencies=[Depends(require_roles("grid-app", "hotline", *OVERSEERS))])
async def preview(report: Report, request: Request) -> Decision:
    """The decision the router would take for this report now, with its trace; nothing is stored."""
    engine = router_state(request).engine
    return engine.decide(report)
