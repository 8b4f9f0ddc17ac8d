"""JSON logs that carry the case id and trace id of whatever the task is working on."""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from schemas.envelope import TraceContext
from services.pii import mask_phone_numbers

case_id_var: ContextVar[str | None] = ContextVar("case_id", default=None)
trace_var: ContextVar[TraceContext | None] = ContextVar("trace", default=None)


def new_traceparent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def current_trace() -> TraceContext:
    """The trace of the work at hand, or a new root trace for work that starts here."""
    trace = trace_var.get()
    if trace is None or not trace.traceparent:
        trace = TraceContext(traceparent=new_traceparent())
        trace_var.set(trace)
    return trace


def trace_id() -> str | None:
    trace = trace_var.get()
    if trace and trace.traceparent and trace.traceparent.count("-") >= 2:
        return trace.traceparent.split("-")[1]
    return None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": mask_phone_numbers(record.getMessage()),
        }
        if (case_id := case_id_var.get()) is not None:
            entry["case_id"] = case_id
        if (tid := trace_id()) is not None:
            entry["trace_id"] = tid
        if record.exc_info:
            entry["error"] = mask_phone_numbers(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


class PlainFormatter(logging.Formatter):
    """Text log lines, masked like the JSON ones."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phone_numbers(super().format(record))


def configure_logging(service: str, level: str = "INFO", json_lines: bool = True) -> None:
    """Root logging for a service process: one JSON object per line on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if json_lines else PlainFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel("WARNING")
