"""`caseroute catalogue validate|diff|gazetteer|schema|suggest|publish`: the catalogue's admin commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import orjson
import typer

from catalogue.diff import diff_catalogues
from catalogue.gazetteer import generate
from catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue, write_json_schema

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


def _document(ref: str, tracker: str | None, key: str | None) -> dict[str, object]:
    """A catalogue file, or else a version the tracker published, read through its API (never its database)."""
    if Path(ref).is_file():
        return load_catalogue(Path(ref)).model_dump(mode="json")
    if not tracker:
        typer.echo(f"{ref}: no such file; for a published version give --tracker URL (CASEROUTE_TRACKER_URL)",
                   err=True)
        raise typer.Exit(2)
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        answer = httpx.get(f"{tracker.rstrip('/')}/v1/catalogue/versions/{quote(ref, safe='')}", headers=headers,
                           timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"{tracker}: {exc}", err=True)
        raise typer.Exit(2) from None
    if answer.status_code == 404:
        typer.echo(f"{ref}: neither a catalogue file nor a published version", err=True)
        raise typer.Exit(2)
    if answer.status_code != 200:
        # 401/403: the versions are for adjudicators, operators and admins; the problem's detail says why.
        typer.echo(f"{tracker}: {answer.status_code} {answer.text}", err=True)
        raise typer.Exit(3 if answer.status_code in (401, 403) else 2)
    document: dict[str, object] = answer.json()["document"]
    return document


@catalogue_app.command("diff")
def diff_command(
    before: Annotated[str, typer.Argument(help="catalogue file or published version id")],
    after: Annotated[str, typer.Argument(help="catalogue file or published version id")],
    as_json: Annotated[bool, typer.Option("--json", help="the structured diff as JSON")] = False,
    tracker: Annotated[str | None, typer.Option(envvar="CASEROUTE_TRACKER_URL",
                                                help="the tracker's base URL, for published version ids")] = None,
    key: Annotated[str | None, typer.Option(envvar="CASEROUTE_API_KEY",
                                            help="an adjudicator's, operator's or admin's API key or token")] = None,
) -> None:
    """What changed from one catalogue version to another: rulings, matters, aliases, rules, settings."""
    try:
        diff = diff_catalogues(_document(before, tracker, key), _document(after, tracker, key))
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
    target = out or catalogue.with_suffix(".divisions.yaml")
    try:
        found = generate(load_catalogue(catalogue), division, target, codes)
    except (CatalogueError, RuntimeError, ValueError, OSError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    counts = ", ".join(f"{unit} {len(places)}" for unit, places in found.by_unit.items())
    typer.echo(f"{target}: {counts}; outside the units {len(found.outside)}")


def _add_router_commands() -> None:
    # The router's own commands on the catalogue: suggest decides placed cases again, publish is its Kafka client.
    from router.rescue_training import train_rescue_command
    from router.suggestions import suggest_command

    catalogue_app.command("suggest")(suggest_command)
    catalogue_app.command("train-rescue")(train_rescue_command)

    @catalogue_app.command("publish")
    def publish(file: Annotated[Path, typer.Argument(help="catalogue YAML file")],
                key: Annotated[str | None, typer.Option(envvar="CASEROUTE_API_KEY",
                                                        help="an admin's API key or token")] = None,
                reason: Annotated[str, typer.Option(help="why (audit)")] = "") -> None:
        """Validate a catalogue and publish it on catalogue.v1 (role admin; audited as the key's holder)."""
        from router.catalogue_events import publish_command  # Kafka and the database: only when publishing

        publish_command(file, key, reason)


_add_router_commands()


@catalogue_app.command("schema")
def schema_command(out: Annotated[Path | None, typer.Option(help="where to write")] = None) -> None:
    """Write the catalogue JSON Schema generated from the models."""
    typer.echo(str(write_json_schema(out)))
