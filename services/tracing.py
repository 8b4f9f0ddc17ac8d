"""OpenTelemetry tracing, off unless CASEROUTE_OTLP_ENDPOINT names a collector; contexts ride in Kafka headers.

One case is one trace: intake's HTTP span is the root, each outbox publish and each consumer's
handling is a child of the span that caused it. The W3C `traceparent` travels in the envelope's
`trace` and in the Kafka header of the same name, so consumers without OpenTelemetry can follow it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.envelope import Envelope, TraceContext
from services.bus.base import Message as BusMessage
from services.bus.base import OutgoingMessage
from services.envelopes import TRACEPARENT_HEADER
from services.logctx import trace_var

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from services.settings import Settings

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None  # None: tracing is off and every helper only passes the context on


def configure(settings: Settings, service: str) -> None:
    """Export spans over OTLP/HTTP when an endpoint is configured; otherwise leave tracing off."""
    if not settings.otlp_endpoint:
        return
    # Imported here: a process without an endpoint never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"caseroute-{service}"}))
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    install(provider)


def install(provider: TracerProvider | None) -> None:
    """Trace with this provider from now on (None: off); tests install one with an in-memory exporter."""
    global _tracer
    _tracer = provider.get_tracer("caseroute") if provider is not None else None


def traceparent_of(span: Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _parent(traceparent: str | None) -> Context | None:
    return _PROPAGATOR.extract({TRACEPARENT_HEADER: traceparent}) if traceparent else None


class TraceRequests:
    """A server span per HTTP request, continuing a caller's `traceparent`; events it causes carry it on."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _tracer is None or scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope.get("headers") or {}).get(TRACEPARENT_HEADER.encode())
        method = scope["method"]
        with _tracer.start_as_current_span(
                f"{method}", context=_parent(incoming.decode("latin-1") if incoming else None),
                kind=SpanKind.SERVER, attributes={"http.request.method": method, "url.path": scope["path"],
                                                  "caseroute.service": self.service}) as span:
            token = trace_var.set(TraceContext(traceparent=traceparent_of(span)))

            async def send_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                trace_var.reset(token)
                # The route template is known only after routing; it names the span, not the raw path.
                if (route := getattr(scope.get("route"), "path", None)) is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)


@contextmanager
def publishing(service: str, messages: Sequence[OutgoingMessage]) -> Iterator[Sequence[OutgoingMessage]]:
    """A producer span per message, child of the event's context; the header then names that span."""
    if _tracer is None:
        yield messages
        return
    spans, traced = [], []
    for message in messages:
        headers = dict(message.headers)
        parent = headers.get(TRACEPARENT_HEADER)
        span = _tracer.start_span(f"publish {message.topic}", context=_parent(parent.decode() if parent else None),
                                  kind=SpanKind.PRODUCER,
                                  attributes={"messaging.system": "kafka", "messaging.destination.name": message.topic,
                                              "caseroute.service": service, "caseroute.case_id": message.key})
        headers[TRACEPARENT_HEADER] = traceparent_of(span).encode()
        spans.append(span)
        traced.append(replace(message, headers=tuple(headers.items())))  # keeps the event id and stamp
    try:
        yield traced
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, repr(exc)))
        raise
    finally:
        for span in spans:
            span.end()


@contextmanager
def consuming(group: str, message: BusMessage, event: Envelope) -> Iterator[None]:
    """Handle a message as the child of its producer: the header's context, else the envelope's."""
    if _tracer is None:
        trace_var.set(event.trace)
        yield
        return
    parent = message.header(TRACEPARENT_HEADER) or event.trace.traceparent
    with _tracer.start_as_current_span(
            f"process {message.topic}", context=_parent(parent), kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": message.topic,
                        "messaging.consumer.group.name": group, "messaging.kafka.offset": message.offset,
                        "caseroute.case_id": event.subject}) as span:
        # Events the handler emits carry this span, so their consumers become its children.
        trace_var.set(TraceContext(traceparent=traceparent_of(span), tracestate=event.trace.tracestate))
        yield
