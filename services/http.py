"""The HTTP app factory every service uses: problems, body limit, /metrics, /healthz, /readyz."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.caller import document_credentials
from services.problems import install_problem_handlers, problem_response
from services.tracing import TraceRequests

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "route", "method", "status"])
HTTP_SECONDS = Histogram("http_request_seconds", "HTTP request latency", ["service", "route", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class BodyLimit:
    """Refuse bodies over the limit with 413 before reading them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or {}).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = problem_response(413, "Request body too large", f"at most {self.max_bytes} bytes")
            return await response(scope, receive, send)
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            response = problem_response(413, "Request body too large", f"at most {self.max_bytes} bytes")
            await response(scope, receive, send)


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reading passes it on as 413 instead of wrapping it into a 400."""

    def __init__(self) -> None:
        super().__init__(413, "Request body too large")


class Measure:
    """Request counts and latencies by route template (bounded labels), as plain ASGI: no per-request task."""

    def __init__(self, app: ASGIApp, service: str, app_routes: list[BaseRoute]) -> None:
        self.app = app
        self.service = service
        self.routes = app_routes

    def _route(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "other")
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"]
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router leaves the route it chose in the scope; routes of included routers (FastAPI wraps
            # them) have no path of their own, so matching the app's route list would name them "other".
            route = getattr(scope.get("route"), "path", None) or self._route(scope)
            HTTP_SECONDS.labels(self.service, route, method).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(self.service, route, method, str(status[0])).inc()


def create_app(*, service: str, routers: Sequence[APIRouter], readiness: Sequence[ReadinessCheck],
               max_body_bytes: int, lifespan: Lifespan | None = None, title: str | None = None,
               cors_origins: Sequence[str] = ()) -> FastAPI:
    """A FastAPI app with the house conventions; `readiness` checks decide /readyz."""
    # /docs and /redoc load their scripts, styles and icon from this service (a packaged copy under
    # /static-offline-docs), not from a CDN: a site without internet access still reads its API documents.
    # Swagger UI's validator badge would call validator.swagger.io with the document: off.
    app = FastAPIOffline(title=title or f"caseroute {service}", version="1", lifespan=lifespan,
                         default_response_class=JSONResponse, swagger_ui_parameters={"validatorUrl": None})
    install_problem_handlers(app)
    document_credentials(app, routers)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        results = {}
        for check in readiness:
            ok, what = await check()
            results[what] = ok
        ready = all(results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if cors_origins:  # closed by default: without the setting no browser page of another origin may call us
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "X-Api-Key", "Content-Type", "traceparent"])
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(Measure, service=service, app_routes=app.router.routes)
    app.add_middleware(TraceRequests, service=service)  # outermost: the span covers the whole request
    return app
