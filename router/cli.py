"""`caseroute route`: JSON lines of reports to JSON lines of decisions, with no servers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import orjson
import typer
from pydantic import ValidationError

from catalogue.loader import CatalogueError, load_catalogue
from catalogue.model import DuplicateSettings
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from router.domain.duplicates import OpenCase, find_duplicate, subject_of
from router.domain.text import normalise_address
from schemas.decision import Decision, DecisionStatus
from schemas.report import Report


def _error_line(raw: bytes, error: str) -> bytes:
    external_id = None
    try:
        data = orjson.loads(raw)
        if isinstance(data, dict):
            external_id = data.get("external_id")
    except orjson.JSONDecodeError:
        pass
    return orjson.dumps({"external_id": external_id, "status": "error", "error": error})


class _BatchCases:
    """The routed decisions of this run, so later lines can be linked to earlier ones as duplicates."""

    def __init__(self, settings: DuplicateSettings) -> None:
        self.settings = settings
        self.cases: list[OpenCase] = []

    def link(self, report: Report, decision: Decision) -> Decision:
        """The decision marked as a duplicate of an earlier routed line, or remembered as an open case."""
        if decision.status is not DecisionStatus.routed:
            return decision  # gaps have no subject to compare; each goes to the adjudicator
        where = report.location
        earlier = find_duplicate(
            decision,
            address=where.address,
            lat=where.lat,
            lon=where.lon,
            reported_at=report.reported_at,
            recent=self.cases,
            settings=self.settings,
        )
        if earlier is not None:
            return decision.model_copy(update={"status": DecisionStatus.duplicate, "duplicate_of": earlier})
        self.cases.append(
            OpenCase(
                case_id=report.external_id,
                unit=decision.unit,
                address=normalise_address(where.address),
                lat=where.lat,
                lon=where.lon,
                subject=subject_of(decision),
                opened_at=report.reported_at,
            )
        )
        return decision


def route_stream(
    stdin: IO[bytes], stdout: IO[bytes], catalogue: Path | None = None, link_duplicates: bool = False
) -> int:
    """Route JSON lines of reports to JSON lines of decisions, one output per input line; returns errors."""
    cat = load_catalogue(catalogue)
    cc = compile_catalogue(cat)
    batch = _BatchCases(cat.settings.duplicate) if link_duplicates else None
    errors = 0
    for raw in stdin:
        if not raw.strip():
            continue
        try:
            report = Report.model_validate_json(raw)
            decision = decide(report, cc)
            if batch is not None:
                decision = batch.link(report, decision)
            line = decision.model_dump_json().encode()
        except ValidationError as exc:
            errors += 1
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "report"
            line = _error_line(raw, f"{where}: {first['msg']} ({exc.error_count()} error(s))")
        except Exception as exc:  # one bad line must not lose the rest of the batch
            errors += 1
            line = _error_line(raw, f"internal error: {type(exc).__name__}: {exc}")
        stdout.write(line + b"\n")
    stdout.flush()
    return errors


def route_command(catalogue: Path | None, link_duplicates: bool) -> None:
    """Read reports (JSON lines) on stdin and write decisions (JSON lines) on stdout, in order."""
    try:
        route_stream(sys.stdin.buffer, sys.stdout.buffer, catalogue, link_duplicates)
    except CatalogueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
