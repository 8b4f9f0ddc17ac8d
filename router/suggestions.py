"""`caseroute catalogue suggest`: examples from a file or the tracker, suggestions printed for a human to accept."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError

from catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue, parse_catalogue
from router.domain.compiled import compile_catalogue
from router.domain.suggest import MIN_SUPPORT, Example, Suggestion, suggest
from schemas.report import Report


def example_of(row: dict[str, Any], line: int) -> Example:
    """An example from either shape: the tracker's ({case_id, report, department, how}) or a labelled set's
    ({report, expect: {primary}})."""
    report = Report.model_validate(row["report"])
    if "department" in row:
        return Example(str(row.get("case_id") or report.external_id), report, row["department"],
                       row.get("how", "ruling"))
    return Example(report.external_id or f"line {line}", report, row["expect"]["primary"], "label")


def examples_from_file(path: Path) -> list[Example]:
    out = []
    for n, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if raw.strip():
            out.append(example_of(orjson.loads(raw), n))
    return out


def from_tracker(url: str, key: str) -> tuple[list[Example], dict[str, Any]]:
    """The examples the tracker recorded and the catalogue version in force there."""
    import httpx  # only this path talks to a server

    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            found = client.get("/v1/catalogue/examples", params={"limit": 5000})
            found.raise_for_status()
            versions = client.get("/v1/catalogue/versions", params={"limit": 1})
            versions.raise_for_status()
            latest = versions.json()[0]["version"]
            document = client.get(f"/v1/catalogue/versions/{latest}")
            document.raise_for_status()
    except httpx.HTTPError as exc:
        raise OSError(f"tracker at {url}: {exc}") from exc
    body = found.json()
    rows = body if isinstance(body, list) else body.get("examples", body.get("items", []))
    doc = document.json()
    return [example_of(r, n) for n, r in enumerate(rows, start=1)], doc.get("document", doc)


def render(found: Iterable[Suggestion]) -> str:
    lines = []
    for s in found:
        cases = ", ".join(s.support[:8]) + (" …" if len(s.support) > 8 else "")
        elsewhere = f"; in {s.seen_elsewhere} case(s) that went elsewhere" if s.seen_elsewhere else ""
        lines.append(f"{s.id}\n    supported by {len(s.support)}: {cases}{elsewhere}")
    return "\n".join(lines) or "no suggestions: the catalogue already routes these examples as people did"


def suggest_command(
    examples: Annotated[Path | None, typer.Option(help="JSONL of placed cases (the tracker's examples or a "
                                                       "labelled set)")] = None,
    tracker: Annotated[str | None, typer.Option(help="tracker base URL to read examples and the catalogue "
                                                     "in force from")] = None,
    key: Annotated[str | None, typer.Option(envvar="CASEROUTE_KEY", help="API key for --tracker")] = None,
    catalogue: Annotated[Path, typer.Option(help="catalogue file (with --examples)")] = DEFAULT_CATALOGUE,
    min_support: Annotated[int, typer.Option(min=1, help="cases a word needs")] = MIN_SUPPORT,
    as_json: Annotated[bool, typer.Option("--json", help="suggestions as JSON lines")] = False,
) -> None:
    """Propose gazetteer places and aliases from cases people placed; accept them in the console or with
    POST /v1/catalogue/suggestions/accept. Nothing here changes a catalogue."""
    if (examples is None) == (tracker is None):
        typer.echo("give --examples FILE or --tracker URL", err=True)
        raise typer.Exit(2)
    try:
        if tracker is not None:
            if not key:
                typer.echo("--tracker needs --key (or CASEROUTE_KEY)", err=True)
                raise typer.Exit(2)
            found, document = from_tracker(tracker, key)
            cat = parse_catalogue(document, tracker)
        else:
            assert examples is not None
            found, cat = examples_from_file(examples), load_catalogue(catalogue)
    except (OSError, KeyError, ValidationError, orjson.JSONDecodeError, CatalogueError) as exc:
        typer.echo(f"cannot read the examples: {exc}", err=True)
        raise typer.Exit(1) from None
    proposals = suggest(compile_catalogue(cat), found, min_support=min_support)
    if as_json:
        for s in proposals:
            typer.echo(orjson.dumps(s.as_dict()).decode())
    else:
        typer.echo(render(proposals))
