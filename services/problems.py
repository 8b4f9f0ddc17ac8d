"""RFC 9457 problem+json responses for every error an API returns."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from services import open311

PROBLEM = "application/problem+json"


class Problem(Exception):
    """Raise anywhere in an API to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, title: str, detail: str | None = None, *, instance: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _jsonable(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors[:50]
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Validation errors, HTTP errors and our Problems all answer as problem+json; under /open311/v2 as the
    GeoReport v2 error list instead, which is what Open311 clients parse."""

    @app.exception_handler(open311.Open311Error)
    async def _open311(request: Request, exc: open311.Open311Error) -> Response:
        return open311.error_response(request.url.path, exc.status, exc.description, exc.headers)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        if open311.is_open311(request.url.path):
            return open311.error_response(request.url.path, exc.status, exc.detail or exc.title, exc.headers)
        return problem_response(exc.status, exc.title, exc.detail, instance=request.url.path,
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _jsonable(list(exc.errors()))
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in errors[:5]
        )
        if open311.is_open311(request.url.path):  # GeoReport says 400 for a parameter it cannot take
            return open311.error_response(request.url.path, 400, detail)
        return problem_response(422, "Invalid request", detail, instance=request.url.path,
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if open311.is_open311(request.url.path):
            return open311.error_response(request.url.path, exc.status_code, str(exc.detail),
                                          dict(exc.headers or {}))
        return problem_response(exc.status_code, str(exc.detail), instance=request.url.path,
                                headers=dict(exc.headers or {}))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        # The database being away or saturated is ours and temporary: 503 with a retry hint, never a bare 500.
        if open311.is_open311(request.url.path):
            return open311.error_response(request.url.path, 503, "database unavailable: try again shortly",
                                          {"Retry-After": "5"})
        return problem_response(503, "Database unavailable", "try again shortly", instance=request.url.path,
                                headers={"Retry-After": "5"})
