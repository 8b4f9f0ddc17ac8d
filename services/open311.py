"""Open311 GeoReport v2 as a wire format: its two formats (XML and JSON), its errors, its service list.

GeoReport v2 is served in two halves (README, "Open311 GeoReport v2"): intake takes `POST requests` (a report of
source `public` through the normal intake path), the tracker answers the reads (services, requests), as it owns
the catalogue versions and the case state; both under PREFIX, so one gateway rule per method joins them, and the
embedded mode serves both from one process. This module is the wire format both halves share; it does no
I/O. The catalogue as a service list is catalogue.open311.

Errors under PREFIX answer in the spec's format (`[{"code", "description"}]`, or `<errors><error>` in XML) with
the HTTP status as code; everything else keeps problem+json (services.problems routes by path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

import orjson
from starlette.responses import Response

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
# A service code is a catalogue code (matters and industries share one namespace in reports' `category`).
SERVICE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class Open311Error(Exception):
    """Raise in an Open311 route: answered as the spec's error list with this HTTP status as its code."""

    def __init__(self, status: int, description: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = dict(headers or {})


def is_open311(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def format_of(path: str) -> str:
    """The format a path asks for: `.xml` → xml, anything else json (errors of malformed paths included)."""
    return "xml" if path.endswith(".xml") else "json"


def checked_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format {fmt!r} is not served: use .json or .xml")
    return fmt


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_element(name: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return f"<{name}>{''.join(_xml_element(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        # GeoReport's nested lists (attributes, values) are a plural element of singular ones.
        singular = name[:-1] if name.endswith("s") else name
        return f"<{name}>{''.join(_xml_element(singular, item) for item in value)}</{name}>"
    text = _xml_value(value)
    return f"<{name}>{text}</{name}>" if text else f"<{name}/>"


def xml_document(root: str, item: str | None, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """`<root><item>…</item>…</root>` (or `<root>…</root>` for one mapping), UTF-8 with its declaration, as
    the spec requires."""
    if isinstance(rows, Mapping):
        body = _xml_element(root, rows)
    else:
        body = f"<{root}>{''.join(_xml_element(item or 'item', row) for row in rows)}</{root}>"
    return ('<?xml version="1.0" encoding="utf-8"?>' + body).encode()


def render(fmt: str, root: str, item: str | None, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
           status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """One answer in the asked format: JSON is the rows themselves, XML the spec's root and item elements."""
    if fmt == "xml":
        return Response(xml_document(root, item, rows), status_code=status, media_type=XML_TYPE,
                        headers=dict(headers or {}))
    return Response(orjson.dumps(rows), status_code=status, media_type=JSON_TYPE, headers=dict(headers or {}))


def error_response(path: str, status: int, description: str, headers: Mapping[str, str] | None = None) -> Response:
    """The spec's error list: `[{"code": 404, "description": "…"}]` or `<errors><error>…</error></errors>`."""
    return render(format_of(path), "errors", "error", [{"code": status, "description": description}],
                  status=status, headers=headers)


def check_jurisdiction(given: str | None, served: str) -> None:
    """The spec's jurisdiction_id is needed only where an endpoint serves several: absent is fine, another is a
    404."""
    if given and given != served:
        raise Open311Error(404, f"jurisdiction_id {given!r} not found: this endpoint serves {served!r}")
