"""Security headers on every console response, pages and refusals alike.

The pages need their own script (htmx, /console/static), inline styles (the <style> block, a few style
attributes, the indicator style htmx adds) and htmx's requests to the console itself; nothing else. They show
personal data, so no cache keeps them, no other site frames them, and no Referer carries a case id away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it a browser sends `Origin: null` on the console's own POSTs, which the origin check
    # must refuse. same-origin keeps the Origin and sends no Referer to another site.
    "Referrer-Policy": "same-origin",
}


def secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers.setdefault("Cache-Control", "no-store")  # the static script sets its own
    return response


class ConsoleRoute(APIRoute):
    """A route whose responses carry the console's headers, the error answers too (a 403, a login redirect):
    the app's exception handlers answer here, inside the route, instead of above it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception as exc:
                answer = _handler_for(request, exc)
                if answer is None:
                    raise
                response = await answer(request, exc)
            return secure(response)

        return handler


def _handler_for(request: Request, exc: Exception) -> Callable[[Request, Exception], Awaitable[Response]] | None:
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in (Exception, BaseException):
            return None  # an unexpected error stays the server's 500, logged as ever
        if cls in handlers:
            found: Callable[[Request, Exception], Awaitable[Response]] = handlers[cls]
            return found
    return None
