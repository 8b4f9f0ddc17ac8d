"""GET /v1/reports/monthly (JSON, .xlsx, .pdf) and GET /v1/scorecards: the monthly statement and the department
scorecards, for overseers and for safety-office (区安委办), who receives the statement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.caller import checks_credential, get_caller
from services.principal import Caller
from services.problems import Problem
from tracker import statement
from tracker.api.deps import DepsDep
from tracker.api.stats import parse_month
from tracker.domain.access import oversees
from tracker.notices import SUPERVISOR
from tracker.statement_files import FontMissing, to_pdf, to_xlsx

router = APIRouter(tags=["figures"])
MonthQuery = Annotated[str, Query(description="a calendar month in Asia/Shanghai, e.g. 2026-11",
                                  pattern=r"^\d{4}-\d{2}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_read_statement(caller: Caller) -> bool:
    """Overseers, and safety-office's own key: the statement is sent to it."""
    return oversees(caller) or (caller.role == "department" and caller.name == SUPERVISOR)


@checks_credential
async def statement_reader(request: Request) -> Caller:
    caller = await get_caller(request)
    if not may_read_statement(caller):
        raise Problem(403, "Forbidden", f"the statement is for overseers and {SUPERVISOR}, not {caller.actor}")
    return caller


Reader = Annotated[Caller, Depends(statement_reader)]


def attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/v1/reports/monthly", response_model=statement.MonthlyStatement)
async def monthly(deps: DepsDep, caller: Reader, month: MonthQuery) -> statement.MonthlyStatement:
    """The monthly statement's data (信息互通): its figures are /v1/stats?month= and /v1/scorecards?month=."""
    return await statement.monthly(deps, parse_month(month))


@router.get("/v1/reports/monthly.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "the statement as an XLSX workbook"}})
async def monthly_xlsx(deps: DepsDep, caller: Reader, month: MonthQuery) -> Response:
    """The monthly statement as an XLSX workbook, one sheet per section."""
    data = await statement.monthly(deps, parse_month(month))
    return attachment(to_xlsx(data), XLSX, f"caseroute-statement-{data.month}.xlsx")


@router.get("/v1/reports/monthly.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the statement as a PDF"}})
async def monthly_pdf(deps: DepsDep, caller: Reader, month: MonthQuery) -> Response:
    """The monthly statement as a PDF with its charts (503 when the server has no CJK font)."""
    data = await statement.monthly(deps, parse_month(month))
    try:
        body = to_pdf(data)
    except FontMissing as exc:
        raise Problem(503, "No CJK font", str(exc)) from exc
    return attachment(body, "application/pdf", f"caseroute-statement-{data.month}.pdf")


@router.get("/v1/scorecards", response_model=statement.Scorecards)
async def scorecards(deps: DepsDep, caller: Reader, month: MonthQuery) -> statement.Scorecards:
    """Department scorecards (考核) of a month, best first."""
    return await statement.scorecards(deps, parse_month(month))
