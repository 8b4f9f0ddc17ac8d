"""`caseroute report monthly`: the monthly statement's files, fetched from the tracker's API.

The CLI asks the tracker (GET /v1/reports/monthly, .xlsx, .pdf) rather than reading the database itself: the
statement is then computed in one place, by the code /v1/stats uses, with the API's authorisation (an
overseer's or safety-office's key) and no database credentials on the operator's machine. `make run` serves the
same API on 127.0.0.1:8080, so the embedded mode needs nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

KINDS = {"json": "", "xlsx": ".xlsx", "pdf": ".pdf"}


def fetch(tracker: str, key: str, month: str, out: Path, kinds: list[str], timeout_s: float = 120.0) -> list[Path]:
    """Write caseroute-statement-<month>.<kind> for each kind into `out`; a refusal raises with its detail."""
    import httpx  # here, not at the top: every `caseroute` command would pay for it (~75 ms)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with httpx.Client(base_url=tracker.rstrip("/"), headers={"Authorization": f"Bearer {key}"},
                      timeout=timeout_s) as client:
        for kind in kinds:
            response = client.get(f"/v1/reports/monthly{KINDS[kind]}", params={"month": month})
            if response.status_code != 200:
                detail = response.text[:500]
                try:
                    detail = response.json().get("detail") or detail
                except ValueError:
                    pass
                raise RuntimeError(f"{response.request.url}: {response.status_code} {detail}")
            path = out / f"caseroute-statement-{month}.{kind}"
            path.write_bytes(response.content)
            written.append(path)
    return written


report_app = typer.Typer(help="Statements for 区安委办 (信息互通).", no_args_is_help=True)


@report_app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option(help="calendar month in Asia/Shanghai, e.g. 2026-11")],
    key: Annotated[str, typer.Option(envvar="CASEROUTE_API_KEY", help="an overseer's or safety-office's API key")],
    out: Annotated[Path, typer.Option(help="folder to write the files into")] = Path("."),
    tracker: Annotated[str, typer.Option(envvar="CASEROUTE_TRACKER_URL", help="the tracker's base URL")
                       ] = "http://127.0.0.1:8080",
    kind: Annotated[list[str] | None, typer.Option(help="json, xlsx or pdf (repeat; default xlsx and pdf)")] = None,
) -> None:
    """Write the month's statement (XLSX workbook and PDF with charts) as the tracker computes it."""
    import httpx

    kind = kind or ["xlsx", "pdf"]
    unknown = [k for k in kind if k not in KINDS]
    if unknown:
        raise typer.BadParameter(f"unknown kind(s) {unknown}: use json, xlsx or pdf")
    try:
        for path in fetch(tracker, key, month, out, kind):
            typer.echo(f"wrote {path}")
    except (RuntimeError, httpx.HTTPError) as exc:
        typer.echo(f"report monthly: {exc}", err=True)
        raise typer.Exit(1) from exc
