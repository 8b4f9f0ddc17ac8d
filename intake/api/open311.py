"""Open311 GeoReport v2, intake's half: `POST /open311/v2/requests.{json,xml}` (the tracker answers the reads).

The request is form-encoded as the spec defines it, with `api_key` among the fields; it becomes a report of
source `public` and takes the normal intake path (validation, dedupe, the outbox to reports.v1). The answer is
the spec's `[{"service_request_id", "service_notice", "account_id"}]`; the id is the case id, which
`GET /open311/v2/requests/{id}.json` then follows through the tracker.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import FormData

from catalogue import open311 as catalogue_open311
from intake.domain.submitters import SOURCES_BY_ROLE
from intake.state import intake_state
from schemas.report import Location, Report, Source
from services import open311
from services.auth.ratelimit import admit
from services.caller import authenticate, credential_of, of_roles
from services.netguard import url_refusal
from services.open311 import Open311Error
from services.principal import Caller
from services.problems import Problem
from services.runtime import Runtime

router = APIRouter(tags=["open311"])

# Who may post through the Open311 door: whoever may submit reports of source public (intake.domain.submitters:
# the `public` role, a civic app's key, and the operators and admins who may enter any source).
OPEN311_SUBMITTERS = tuple(role for role, sources in SOURCES_BY_ROLE.items() if Source.public in sources)
NOTICE = "accepted: it is routed to the responsible department; follow it with GET requests/{id}"
# The spec's POST fields we take; attribute[...] has nothing to fill while every service's metadata is false.
_TEXT_LIMITS = {"api_key": 4096, "description": 4000, "address_string": 500, "first_name": 50, "last_name": 50,
                "phone": 40, "email": 254, "media_url": 2000, "service_code": 64, "jurisdiction_id": 64,
                "account_id": 64, "device_id": 64, "address_id": 64}


@cache
def _catalogue(path: Path | None) -> Any:
    """The catalogue file intake is configured with (the one the tracker starts from): its service codes and
    jurisdiction. Intake reads no tracker table; a code that a later published version adds is accepted once
    intake restarts with that file (README, "Open311 GeoReport v2")."""
    from catalogue.loader import load_catalogue

    return load_catalogue(path)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > _TEXT_LIMITS.get(name, 200):
        raise Open311Error(400, f"{name} is longer than {_TEXT_LIMITS.get(name, 200)} characters")
    return value or None


def _coordinate(form: FormData, name: str, bound: float) -> float | None:
    text = _field(form, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a decimal number (WGS84 degrees), not {text!r}") from exc
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must lie between -{bound:g} and {bound:g}")
    return value


def external_id(fields: dict[str, Any], day: str) -> str:
    """The external id of an Open311 request: GeoReport has no client-side id, so the same form on the same
    (UTC) day is the same request (intake dedupes per submitter, so per key), and a client retrying a POST
    whose answer it lost gets the id it missed instead of a second case."""
    digest = hashlib.sha256(orjson.dumps({"day": day, **fields}, option=orjson.OPT_SORT_KEYS))
    return f"open311-{digest.hexdigest()[:40]}"


def report_of(form: FormData, *, now: datetime, codes: frozenset[str]) -> Report:
    """The spec's POST fields as a report of source public, or an Open311Error (400 / 404) saying what is wrong."""
    code = _field(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code was not provided")
    if code not in codes:
        raise Open311Error(404, f"service_code {code!r} not found: GET services.json lists them")
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address = _field(form, "address_string")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long come together")
    if lat is None and address is None:
        if _field(form, "address_id"):
            raise Open311Error(400, "address_id is not served here: send lat and long, or address_string")
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    description = _field(form, "description")
    if description is None:
        raise Open311Error(400, "description was not provided: the department needs to read what is wrong")
    media = _field(form, "media_url")
    name = " ".join(part for part in (_field(form, "first_name"), _field(form, "last_name")) if part) or None
    fields = {"service_code": code, "lat": lat, "long": lon, "address_string": address,
              "description": description, "media_url": media, "name": name, "phone": _field(form, "phone"),
              "email": _field(form, "email")}
    try:
        return Report(external_id=external_id(fields, now.date().isoformat()), source=Source.public,
                      reported_at=now, location=Location(address=address, lat=lat, lon=lon),
                      description=description, category=code, reporter_name=name,
                      reporter_phone=fields["phone"], reporter_email=fields["email"],
                      attachments=[media] if media else [])  # validated as URLs by the model
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "request"
        raise Open311Error(400, f"{where}: {error['msg']}") from exc


async def _submitter(request: Request, form: FormData) -> Caller:
    """The caller of the form's api_key (the spec's place for it; an Authorization header works too)."""
    credential = _field(form, "api_key") or credential_of(request)
    if not credential:
        raise Open311Error(403, "api_key was not provided")
    try:
        caller = await authenticate(request, credential)
    except Problem as exc:  # GeoReport's answer to a key it does not know is 403 "invalid api_key"
        if exc.status != 401:
            raise
        raise Open311Error(403, f"invalid api_key: {exc.detail or exc.title}") from exc
    return admit(request, of_roles(caller, OPEN311_SUBMITTERS))


@router.post(f"{open311.PREFIX}/requests.{{fmt}}", status_code=201,
             responses={200: {"description": "the same request again (a retry): the same id"},
                        400: {"description": "a field missing or malformed"},
                        403: {"description": "api_key missing, unknown, or of a role that does not submit here"},
                        404: {"description": "service_code or jurisdiction_id not found"},
                        429: {"description": "over the key's rate"}, 503: {"description": "database unavailable"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                     name: {"type": "string"} for name in ("api_key", "jurisdiction_id", "service_code", "lat",
                                                           "long", "address_string", "email", "device_id",
                                                           "account_id", "first_name", "last_name", "phone",
                                                           "description", "media_url")},
                     "required": ["api_key", "service_code"]}}}}})
async def post_request(fmt: str, request: Request) -> Response:
    """GeoReport v2 POST Service Request: form-encoded, `api_key` among the fields; `fmt` is json or xml.

    Becomes a report of source `public` (`service_code` as its category, `first_name`/`last_name`, `phone`
    and `email` as its reporter fields, masked wherever ours are, `media_url` as its attachment). 201 with
    `[{"service_request_id", "service_notice", "account_id"}]`; the same form again the same day from the same
    key is the same request (200, same id).
    """
    fmt = open311.checked_format(fmt)
    form = await request.form()
    runtime: Runtime = request.app.state.runtime
    caller = await _submitter(request, form)
    catalogue = _catalogue(runtime.settings.catalogue)
    open311.check_jurisdiction(_field(form, "jurisdiction_id"),
                               catalogue_open311.jurisdiction(runtime.settings.open311_jurisdiction, catalogue))
    report = report_of(form, now=datetime.now(UTC), codes=catalogue_open311.service_codes(catalogue))
    for url in report.attachments:  # links overseers may follow from the console: never to a private network
        unsafe = await url_refusal(str(url), runtime.settings.outbound_networks)
        if unsafe is not None:
            raise Open311Error(400, f"media_url not allowed: {unsafe}")
    acceptor = intake_state(request).acceptor
    try:
        accepted = await acceptor.accept(report, submitted_by=caller.actor)
    except (OperationalError, DBAPIError, OSError, PoolTimeout) as exc:
        raise Open311Error(503, "database unavailable: the request was not stored; try again",
                           headers={"Retry-After": "5"}) from exc
    location = f"{runtime.settings.public_base_url}{open311.PREFIX}/requests/{accepted.case_id}.{fmt}"
    return open311.render(fmt, "service_requests", "request",
                          [{"service_request_id": accepted.case_id, "service_notice": NOTICE,
                            "account_id": _field(form, "account_id")}],
                          status=201 if accepted.created else 200, headers={"Location": location})
