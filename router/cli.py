"""`caseroute route`: JSON lines of reports to JSON lines of decisions, with no servers."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import sys
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import IO

import orjson
import typer
from pydantic import ValidationError

from catalogue.loader import CATALOGUE_DIR, CatalogueError, load_catalogue
from router.domain.compiled import CompiledCatalogue
from router.domain.decide import decide
from router.domain.linking import OpenCases
from router.rescue_file import cache_dir, compiled
from schemas.decision import Decision
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


# Below this many lines a worker pool costs more to start than it saves; above it each worker takes chunks.
PARALLEL_FROM = 2000
CHUNK = 500
_worker_cc: CompiledCatalogue | None = None  # a forked worker's catalogue, inherited from the parent
# model_dump_json() is this serializer's bytes decoded to a str: the line is written as bytes, so take them as made.
_to_json = Decision.__pydantic_serializer__.to_json


def _route_one(raw: bytes, cc: CompiledCatalogue, batch: OpenCases | None) -> tuple[bytes, bool]:
    """One input line to its output line, and whether it was an error."""
    try:
        report = Report.model_validate_json(raw)
        decision = decide(report, cc)
        if batch is not None:  # linked as the router links a batch, a line's external id standing for its case id
            decision = batch.link(report.external_id, report, decision).decision
        return _to_json(decision), False
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "report"
        return _error_line(raw, f"{where}: {first['msg']} ({exc.error_count()} error(s))"), True
    except Exception as exc:  # one bad line must not lose the rest of the batch
        return _error_line(raw, f"internal error: {type(exc).__name__}: {exc}"), True


def _route_chunk(lines: list[bytes]) -> tuple[bytes, int]:
    assert _worker_cc is not None
    routed = [_route_one(raw, _worker_cc, None) for raw in lines]
    return b"".join(line + b"\n" for line, _ in routed), sum(failed for _, failed in routed)


def _chunks(first: list[bytes], rest: Iterator[bytes]) -> Iterator[list[bytes]]:
    yield from (first[i:i + CHUNK] for i in range(0, len(first), CHUNK))
    while chunk := [raw for raw in islice(rest, CHUNK) if raw.strip()]:
        yield chunk


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def route_stream(
    stdin: IO[bytes], stdout: IO[bytes], catalogue: Path | None = None, link_duplicates: bool = False,
    jobs: int = 1, own_process: bool = False,
) -> int:
    """Route JSON lines of reports to JSON lines of decisions, one output per input line, in order; returns the
    number of error lines. With jobs > 1 a large batch is split among forked workers (not with link_duplicates,
    which compares each line with the ones before it). `own_process`: the process runs this command alone."""
    global _worker_cc
    cat = load_catalogue(catalogue, cache_dir())  # the files' parsed data kept in var/cache, like the model's tables
    cc = compiled(cat, catalogue.parent if catalogue is not None else CATALOGUE_DIR)
    batch = OpenCases(cat.settings.duplicate) if link_duplicates else None  # the earlier lines' open cases
    if own_process:
        # What start-up built (imports, the catalogue, the rescue model) lives as long as the process: frozen, the
        # collector no longer walks it at every full collection, and forked workers do not copy the pages that
        # walking would write to. About a twentieth of a batch's time.
        gc.freeze()
    lines = iter(stdin)
    first = [raw for raw in islice(lines, PARALLEL_FROM) if raw.strip()]
    errors = 0
    if jobs > 1 and batch is None and len(first) >= PARALLEL_FROM and "fork" in mp.get_all_start_methods():
        _worker_cc = cc
        with mp.get_context("fork").Pool(jobs) as pool:
            for block, failed in pool.imap(_route_chunk, _chunks(first, lines)):
                stdout.write(block)
                errors += failed
        stdout.flush()
        return errors
    for raw in chain(first, lines):
        if not raw.strip():
            continue
        line, failed = _route_one(raw, cc, batch)
        errors += failed
        stdout.write(line + b"\n")
    stdout.flush()
    return errors


def route_command(catalogue: Path | None, link_duplicates: bool, jobs: int = 0) -> None:
    """Read reports (JSON lines) on stdin and write decisions (JSON lines) on stdout, in order."""
    try:
        route_stream(sys.stdin.buffer, sys.stdout.buffer, catalogue, link_duplicates, jobs or usable_cpus(),
                     own_process=True)
    except CatalogueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
