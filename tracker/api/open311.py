"""Open311 GeoReport v2, the tracker's half: the reads (services, service definitions, requests).

The tracker answers them because it owns what they show: the catalogue versions (services) and the case state
(requests); intake takes `POST requests` under the same prefix (intake/api/open311.py).

The reads are public, as GeoReport v2 has them (clients such as `georeport` send no key): rate-limited per
client address like a key of the `public` role. They show the requests that came in as public reports (source
`public`), never the grid's or the hotline's, and no personal data: no reporter fields, phone numbers, names and
e-mail addresses masked in the description, no attachment links (the submitter's, as everywhere else).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, select

from catalogue import open311 as catalogue_open311
from catalogue.model import Catalogue
from services import open311
from services.auth.ratelimit import admit
from services.open311 import Open311Error
from services.pii import masked_report
from services.principal import Caller
from tracker.api.deps import DepsDep
from tracker.console.routes import department_names
from tracker.domain.case import TERMINAL, Status
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.models import Case

router = APIRouter(tags=["open311"])

WINDOW = timedelta(days=90)  # the spec's default search window, and the widest a search may span
MAX_REQUESTS = 1000  # the spec lets a server cap a listing; newest first
_Text = Annotated[str | None, Query(max_length=2000)]
_ERRORS: dict[int | str, dict[str, str]] = {400: {"description": "a parameter malformed"},
                                             404: {"description": "not found (or not a public request)"},
                                             429: {"description": "over the rate for one client address"}}


def status_of(status: str) -> str:
    """GeoReport's two statuses: a case closed or folded into an earlier one is closed; any other is open."""
    return "closed" if status in {s.value for s in TERMINAL} else "open"


def service_notice(case: Case, agency: str | None) -> str:
    """What happens next, in the words of the case's state."""
    status = case.status
    if status == Status.duplicate:
        return "closed as a duplicate of an earlier request about the same problem"
    if status == Status.closed:
        return f"closed after {agency or 'the department'} reported its outcome"
    if status == Status.feedback:
        return f"{agency or 'the department'} has reported its outcome; awaiting confirmation on site"
    if status == Status.acknowledged:
        return f"{agency} is working on it; its outcome is due by the expected datetime"
    if status == Status.dispatched:
        return f"sent to {agency}, which confirms receipt next; its outcome is due by the expected datetime"
    return "accepted: the responsible department is being determined"


def _w3(at: datetime | None) -> str | None:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z") if at else None


def request_view(case: Case, cat: Catalogue, names: dict[str, str]) -> dict[str, Any]:
    """One case as a GeoReport service request (no personal data: module docstring)."""
    report = masked_report(case.report) if case.report else {}
    decision = case.decision or {}
    code = report.get("category") or decision.get("matter") or decision.get("industry")
    location = report.get("location") or {}
    agency = names.get(case.department, case.department) if case.department else None
    return {
        "service_request_id": case.case_id,
        "status": status_of(case.status),
        "status_notes": case.status,
        "service_name": catalogue_open311.service_name(cat, code),
        "service_code": code,
        "description": report.get("description") or report.get("title"),
        "agency_responsible": agency,
        "service_notice": service_notice(case, agency),
        "requested_datetime": _w3(case.received_at),
        "updated_datetime": _w3(case.updated_at),
        "expected_datetime": _w3(case.feedback_due_at),
        "address": location.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": None,
    }


async def _catalogue(deps: Deps) -> Catalogue:
    async with deps.db.transaction() as session:
        return versions.parsed(await versions.in_force(session, deps.settings))


def _reader(request: Request) -> None:
    """Anonymous reads, each client address within the `public` role's rate (429 beyond it)."""
    host = request.client.host if request.client else "unknown"
    admit(request, Caller("public", "open311-reader", key=f"ip:{host}"))


async def _served(deps: Deps, request: Request, fmt: str, jurisdiction_id: str | None) -> tuple[str, Catalogue]:
    fmt = open311.checked_format(fmt)
    _reader(request)
    cat = await _catalogue(deps)
    served = catalogue_open311.jurisdiction(deps.settings.open311_jurisdiction, cat)
    open311.check_jurisdiction(jurisdiction_id, served)
    return fmt, cat


@router.get(f"{open311.PREFIX}/services.{{fmt}}", responses=_ERRORS)
async def list_services(fmt: str, request: Request, deps: DepsDep, jurisdiction_id: _Text = None) -> Response:
    """GeoReport v2 GET Service List: the matters and industries of the catalogue in force, by their codes."""
    fmt, cat = await _served(deps, request, fmt, jurisdiction_id)
    return open311.render(fmt, "services", "service", catalogue_open311.services(cat))


@router.get(f"{open311.PREFIX}/services/{{code}}.{{fmt}}", responses=_ERRORS)
async def service_definition(code: str, fmt: str, request: Request, deps: DepsDep,
                             jurisdiction_id: _Text = None) -> Response:
    """GeoReport v2 GET Service Definition: no service has attributes (metadata false), so the list is empty."""
    fmt, cat = await _served(deps, request, fmt, jurisdiction_id)
    if code not in catalogue_open311.service_codes(cat):
        raise Open311Error(404, f"service_code {code!r} not found")
    return open311.render(fmt, "service_definition", None, catalogue_open311.definition(code))


def _listed(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _instant(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a w3 datetime, e.g. 2026-01-05T00:00:00Z") from exc
    if at.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or an offset), as the spec requires")
    return at


def _filters(service_request_id: str | None, service_code: str | None, start_date: str | None,
             end_date: str | None, status: str | None, now: datetime) -> list[ColumnElement[bool]]:
    """The spec's filters as SQL; service_request_id overrides all others."""
    where: list[ColumnElement[bool]] = [Case.source == "public"]
    ids = _listed(service_request_id)
    if ids:
        return [*where, Case.case_id.in_(ids[:MAX_REQUESTS])]
    start, end = _instant("start_date", start_date), _instant("end_date", end_date)
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date")
    start = start or (end or now) - WINDOW
    end = end or start + WINDOW
    if end - start > WINDOW:
        raise Open311Error(400, "a search spans at most 90 days")
    where += [Case.received_at >= start, Case.received_at <= end]
    codes = _listed(service_code)
    if codes:
        where.append(Case.report["category"].as_string().in_(codes))
    statuses = set(_listed(status))
    unknown = statuses - {"open", "closed"}
    if unknown:
        raise Open311Error(400, f"status is open or closed, not {', '.join(sorted(unknown))}")
    terminal = [s.value for s in TERMINAL]
    if statuses == {"open"}:
        where.append(Case.status.not_in(terminal))
    elif statuses == {"closed"}:
        where.append(Case.status.in_(terminal))
    return where


async def _cases(deps: Deps, where: Sequence[ColumnElement[bool]]) -> list[Case]:
    query = select(Case).where(*where).order_by(Case.received_at.desc(), Case.case_id.desc()).limit(MAX_REQUESTS)
    async with deps.db.sessions() as session:
        return list((await session.execute(query)).scalars())


@router.get(f"{open311.PREFIX}/requests.{{fmt}}", responses=_ERRORS)
async def list_requests(fmt: str, request: Request, deps: DepsDep, jurisdiction_id: _Text = None,
                        service_request_id: _Text = None, service_code: _Text = None, start_date: _Text = None,
                        end_date: _Text = None, status: _Text = None) -> Response:
    """GeoReport v2 GET Service Requests: public requests, newest first, by default of the last 90 days."""
    fmt, cat = await _served(deps, request, fmt, jurisdiction_id)
    where = _filters(service_request_id, service_code, start_date, end_date, status, deps.now())
    names = department_names(cat)
    return open311.render(fmt, "service_requests", "request",
                          [request_view(case, cat, names) for case in await _cases(deps, where)])


@router.get(f"{open311.PREFIX}/requests/{{request_id}}.{{fmt}}", responses=_ERRORS)
async def get_request(request_id: str, fmt: str, request: Request, deps: DepsDep,
                      jurisdiction_id: _Text = None) -> Response:
    """GeoReport v2 GET Service Request: one request (a list of one, as the spec has it)."""
    fmt, cat = await _served(deps, request, fmt, jurisdiction_id)
    cases = await _cases(deps, [Case.source == "public", Case.case_id == request_id])
    if not cases:
        # Not yet routed (a moment after the POST), or not a public request: both are not found here.
        raise Open311Error(404, f"service_request_id {request_id!r} not found (a new request takes a moment)")
    return open311.render(fmt, "service_requests", "request", [request_view(cases[0], cat, department_names(cat))])
