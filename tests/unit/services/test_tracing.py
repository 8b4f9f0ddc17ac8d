"""One report is one trace: intake, router, tracker and notifier spans share the trace id of the request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from caseroute.wiring import builder
from schemas.envelope import Envelope
from services import tracing
from services.envelopes import headers_for
from services.runner import build_app
from services.runtime import Runtime
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.support.credentials import auth_headers

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)  # other tests run with tracing off, as production does by default


def _service_of(span: ReadableSpan) -> str | None:
    attributes = span.attributes or {}
    if "caseroute.service" in attributes:
        return str(attributes["caseroute.service"])
    group = str(attributes.get("messaging.consumer.group.name", ""))
    return group.removeprefix("caseroute.").split("-")[0] or None


async def test_a_report_is_one_trace_through_all_four_services(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", kafka=KafkaSettings(bootstrap=None),
                        outbox_idle_s=0.01)
    runtime = Runtime.create(settings)
    builders = [builder(n) for n in ("intake", "router", "tracker", "notifier")]
    app = build_app(runtime, [build(runtime) for build in builders], "caseroute")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.post("/v1/reports", json=dev_reports()[0],
                                   headers={"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01",
                                            **auth_headers("grid-app", "tests")})
        assert answer.status_code == 202
        async with asyncio.timeout(30):
            while {"router", "tracker", "notifier"} - {_service_of(s) for s in spans.get_finished_spans()
                                                       if s.name.startswith("process ")}:
                await asyncio.sleep(0.05)
    finished = [s for s in spans.get_finished_spans() if s.context is not None]
    request = next(s for s in finished if s.name == "POST /v1/reports")
    assert request.context is not None and f"{request.context.trace_id:032x}" == CALLER_TRACE
    same_trace = [s for s in finished if s.context is not None and s.context.trace_id == request.context.trace_id]
    assert {_service_of(s) for s in same_trace} >= {"intake", "router", "tracker", "notifier"}
    assert {s.name.split()[0] for s in same_trace} >= {"POST", "publish", "process"}
    by_id = {s.context.span_id: s for s in same_trace if s.context is not None}
    routed = next(s for s in same_trace if s.name.endswith("routed.v1") and s.name.startswith("process"))
    # process routed.v1 ← publish routed.v1 ← process reports.v1 ← publish reports.v1 ← POST /v1/reports
    chain = [routed]
    while chain[-1].parent is not None and chain[-1].parent.span_id in by_id:
        chain.append(by_id[chain[-1].parent.span_id])
    assert [s.name.split(" ")[0] for s in chain] == ["process", "publish", "process", "publish", "POST"]


def test_kafka_headers_carry_the_envelopes_traceparent() -> None:
    event = Envelope(source="t", type="x", subject="C1", dataschema="urn:x:v1",
                     traceparent=f"00-{CALLER_TRACE}-b7ad6b7169203331-01", data={"traceparent": "no"})
    headers = dict(headers_for(event.id, event.to_bytes()))
    assert headers["traceparent"] == f"00-{CALLER_TRACE}-b7ad6b7169203331-01".encode()
    assert headers["event_id"] == event.id.encode()
    assert headers["content-type"] == b"application/cloudevents+json"
    assert "traceparent" not in dict(headers_for("e", b"not an envelope"))
    # An envelope without a trace: a well-formed traceparent inside the payload is not taken for the envelope's.
    untraced = Envelope(source="t", type="x", subject="C1",
                        data={"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"})
    assert "traceparent" not in dict(headers_for(untraced.id, untraced.to_bytes()))


def test_tracing_is_off_by_default_and_on_with_an_otlp_endpoint() -> None:
    tracing.configure(Settings(otlp_endpoint=None), "intake")
    assert tracing._tracer is None
    tracing.configure(Settings(otlp_endpoint=""), "intake")  # compose passes an empty variable through
    assert tracing._tracer is None
    try:
        tracing.configure(Settings(otlp_endpoint="http://127.0.0.1:4318"), "intake")
        assert tracing._tracer is not None
    finally:
        tracing.install(None)
