"""The `caseroute` command: run a service, the embedded all-in-one mode, and the admin tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services.paths import REPO_ROOT

if TYPE_CHECKING:
    from services.settings import Settings

app = typer.Typer(help="caseroute: route city-governance reports to the department that must handle them.",
                  no_args_is_help=True, add_completion=False)
schemas_app = typer.Typer(help="Event and API schemas.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
docs_app = typer.Typer(help="API documents under docs/.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
deploy_app = typer.Typer(help="Deployment manifests generated from the catalogue.", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")


def _serve(names: list[str], settings: Settings) -> None:
    from caseroute.wiring import builder
    from services.runner import serve

    serve(settings, [builder(name) for name in names], name="+".join(names) if len(names) < 4 else "caseroute")


def _service_command(name: str) -> None:
    def command(port: Annotated[int | None, typer.Option(help="HTTP port (else CASEROUTE_HTTP_PORT)")] = None
                ) -> None:
        from services.settings import get_settings

        settings = get_settings()
        if port is not None:
            settings = settings.model_copy(update={"http_port": port})
        _serve([name], settings.model_copy(update={"service": name}))

    command.__doc__ = f"Run the {name} service on the configured Kafka and database."
    app.command(name=name)(command)


for _name in ("intake", "router", "tracker", "notifier"):
    _service_command(_name)


@app.command()
def run(
    embedded: Annotated[bool, typer.Option(help="In-process bus and an SQLite file: needs nothing but Python")] = False,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
) -> None:
    """All four services in one process (with --embedded: no Kafka, no PostgreSQL)."""
    from services.settings import Settings, get_settings

    settings = get_settings()
    update: dict[str, object] = {"service": "caseroute"}
    if port is not None:
        update["http_port"] = port
    if embedded:
        settings.kafka.bootstrap = None
        if not settings.database_url.startswith("sqlite"):
            update["database_url"] = Settings.model_fields["database_url"].default
    if settings.auth.bootstrap_admin_file is None:
        settings.auth.bootstrap_admin_file = _admin_key_file(str(update.get("database_url", settings.database_url)))
    _serve(["intake", "router", "tracker", "notifier"], settings.model_copy(update=update))


def _admin_key_file(database_url: str) -> Path:
    """Beside an SQLite file (its install's key), else var/admin.key."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "admin.key"
    return REPO_ROOT / "var" / "admin.key"


@app.command()
def route(
    catalogue: Annotated[Path | None, typer.Option(help="Catalogue file (default: the 海曙 catalogue)")] = None,
    link_duplicates: Annotated[bool, typer.Option(help="Link repeats within the batch as duplicates")] = False,
    jobs: Annotated[int, typer.Option(min=0, help="Worker processes for a large batch (0: one per usable CPU; "
                                                  "1: none)")] = 0,
) -> None:
    """JSON lines of reports on stdin → JSON lines of decisions on stdout, in order; no servers needed."""
    from router.cli import route_command

    route_command(catalogue, link_duplicates, jobs)


def _add_route_eval() -> None:
    from router.evaluate import route_eval_command  # the router's domain only: no Kafka, database or HTTP client

    app.command("route-eval")(route_eval_command)


_add_route_eval()


def _add_catalogue_app() -> None:
    from caseroute.catalogue_cli import catalogue_app

    app.add_typer(catalogue_app, name="catalogue")


_add_catalogue_app()


def _add_report_app() -> None:
    from tracker.report_cli import report_app  # httpx only: the tracker computes the statement

    app.add_typer(report_app, name="report")


_add_report_app()


@schemas_app.command("export")
def export_schemas(out: Annotated[Path, typer.Option(help="Folder for the JSON Schema files")] =
                   REPO_ROOT / "schemas" / "json") -> None:
    """Write the JSON Schema of every event and API model."""
    from schemas.registry import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.schema.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
        typer.echo(f"wrote {out / name}.schema.json")


@deploy_app.command("kafka-users")
def deploy_kafka_users(
    catalogue: Annotated[Path | None, typer.Option(help="Catalogue file (default: the 海曙 catalogue)")] = None,
    prefix: Annotated[str, typer.Option(help="Topic prefix (CASEROUTE_TOPIC_PREFIX)")] = "caseroute.",
    out: Annotated[Path, typer.Option(help="Manifest to write")] = REPO_ROOT / "deploy" / "k8s"
    / "strimzi-departments.yaml",
) -> None:
    """Strimzi KafkaUser and topics per department: each writes only its own reply topic (tests compare)."""
    from catalogue.loader import load_catalogue
    from router.kafka_access import write

    typer.echo(f"wrote {write(out, load_catalogue(catalogue), prefix)}")


@docs_app.command("export")
def export_docs(out: Annotated[Path, typer.Option(help="Folder for the documents")] = REPO_ROOT / "docs") -> None:
    """Write OpenAPI of each service and AsyncAPI 3.0 of the topics (tests compare them with docs/)."""
    from caseroute.apidocs import export

    for path in export(out):
        typer.echo(f"wrote {path}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="department, grid-app, hotline, public (Open311 clients), adjudicator, "
                                           "operator or admin")],
    name: Annotated[str, typer.Option(help="who holds it; a department's code for departments (e.g. amr)")],
    expires: Annotated[str | None, typer.Option(help="lifetime such as 90d, 12h, 30m (default: no expiry)")] = None,
    description: Annotated[str, typer.Option(help="what the key is for")] = "",
    rate_limit: Annotated[float | None, typer.Option(help="requests/s at intake (default: the role's)")] = None,
) -> None:
    """Create a key and print it once: it is stored hashed and cannot be shown again."""
    from services.auth.cli import create
    from services.settings import get_settings

    try:
        typer.echo(create(get_settings(), role, name, expires, description, rate_limit))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@keys_app.command("list")
def keys_list(all_keys: Annotated[bool, typer.Option("--all", help="include revoked keys")] = False) -> None:
    """Keys with role, name, expiry, last use (never their secrets), one JSON object a line."""
    from services.auth.cli import list_rows
    from services.settings import get_settings

    for row in list_rows(get_settings(), all_keys):
        typer.echo(json.dumps(row, ensure_ascii=False))


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id (crk_<id>_…)")]) -> None:
    """Revoke a key; services stop accepting it within CASEROUTE_AUTH_CACHE_S seconds."""
    from services.auth.cli import revoke
    from services.settings import get_settings

    if not revoke(get_settings(), key_id):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def main() -> None:
    """The `caseroute` command: a misspelt setting ends it with the message alone (exit 2), not a traceback."""
    try:
        app()
    except Exception as error:
        # Settings load only in the commands that need them: `caseroute route` starts without pydantic-settings.
        from services.settings import UnknownSettings

        if not isinstance(error, UnknownSettings):
            raise
        typer.echo(f"caseroute: {error}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
