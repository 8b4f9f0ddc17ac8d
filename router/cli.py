"""Command-line entry points: `caseroute catalogue validate|diff|gazetteer|suggest|schema` and `caseroute route`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
from pydantic import ValidationError

from router.domain.catalogue import DuplicateSettings
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from router.domain.duplicates import OpenCase, find_duplicate, subject_of
from router.domain.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue, write_json_schema
from router.domain.text import normalise_address
from router.suggestions import suggest_command
from schemas.decision import Decision, DecisionStatus
from schemas.report import Report

catalogue_app = typer.Typer(help="Check and describe responsibility catalogues.", no_args_is_help=True)


@catalogue_app.command("validate")
def validate_command(file: Annotated[Path, typer.Argument(help="catalogue YAML file")]) -> None:
    """Print every problem of a catalogue with its path; exit 1 if there is any."""
    try:
        cat = load_catalogue(file)
    except CatalogueError as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=False)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{file}: valid, version {cat.version} ({cat.district}): {len(cat.units)} units, "
        f"{len(cat.departments)} departments, {len(cat.industries)} industries, {len(cat.matters)} matters"
    )


def _document(ref: str) -> dict[str, object]:
    """A catalogue file, or else a version the tracker published (read from its database)."""
    if Path(ref).is_file():
        return load_catalogue(Path(ref)).model_dump(mode="json")
    import asyncio

    from services.settings import get_settings
    from tracker.store.catalogue import version_document

    document = asyncio.run(version_document(get_settings(), ref))
    if document is None:
        typer.echo(f"{ref}: neither a catalogue file nor a published version", err=True)
        raise typer.Exit(2)
    return document


@catalogue_app.command("diff")
def diff_command(
    before: Annotated[str, typer.Argument(help="catalogue file or published version id")],
    after: Annotated[str, typer.Argument(help="catalogue file or published version id")],
    as_json: Annotated[bool, typer.Option("--json", help="the structured diff as JSON")] = False,
) -> None:
    """What changed from one catalogue version to another: rulings, matters, aliases, rules, settings."""
    from router.domain.diff import diff_catalogues

    try:
        diff = diff_catalogues(_document(before), _document(after))
    except CatalogueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(orjson.dumps(diff.as_dict()).decode() if as_json else diff.text())


@catalogue_app.command("gazetteer")
def gazetteer_command(
    division: Annotated[str, typer.Option(help="the district's division code (统计用区划代码), e.g. 330203")],
    catalogue: Annotated[Path, typer.Option(help="catalogue whose units the places go into")] = DEFAULT_CATALOGUE,
    out: Annotated[Path | None, typer.Option(help="where to write (default: <catalogue>.divisions.yaml)")] = None,
    codes: Annotated[Path | None, typer.Option(help="a directory with streets.csv and villages.csv "
                                                    "(default: fetch the pinned code list with npm)")] = None,
) -> None:
    """Generate the unit gazetteer from the official division codes: every 社区/村 of each unit."""
    from router.gazetteer import generate

    target = out or catalogue.with_suffix(".divisions.yaml")
    try:
        found = generate(load_catalogue(catalogue), division, target, codes)
    except (CatalogueError, RuntimeError, ValueError, OSError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    counts = ", ".join(f"{unit} {len(places)}" for unit, places in found.by_unit.items())
    typer.echo(f"{target}: {counts}; outside the units {len(found.outside)}")


catalogue_app.command("suggest")(suggest_command)


@catalogue_app.command("schema")
def schema_command(out: Annotated[Path | None, typer.Option(help="where to write")] = None) -> None:
    """Write the catalogue JSON Schema generated from the models."""
    typer.echo(str(write_json_schema(out)))


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
            line = orjson.dumps(decision.model_dump(mode="json"))
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
