"""Every public model by name, for JSON Schema export and the docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas.decision import Decision
from schemas.envelope import Envelope
from schemas.events import (
    CaseChanged,
    CaseDispatched,
    CaseRouted,
    CaseRuled,
    CaseTransition,
    DepartmentReply,
    InspectionOpened,
    ReportAccepted,
)
from schemas.report import HotlineCall, Report

MODELS: dict[str, type[BaseModel]] = {
    "report": Report,
    "hotline-call": HotlineCall,
    "decision": Decision,
    "envelope": Envelope,
    "report-accepted": ReportAccepted,
    "case-routed": CaseRouted,
    "case-dispatched": CaseDispatched,
    "department-reply": DepartmentReply,
    "case-changed": CaseChanged,
    "case-transition": CaseTransition,
    "case-ruled": CaseRuled,
    "inspection-opened": InspectionOpened,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12, as pydantic writes it) of each model."""
    return {name: model.model_json_schema() for name, model in MODELS.items()}
