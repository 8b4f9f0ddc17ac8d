"""`caseroute catalogue train-rescue`: the rescue model's counts from labelled report files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from catalogue.binding import template_of
from catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue
from catalogue.model import Catalogue
from router.domain.rescue import MIN_COUNT, label_of, train
from router.domain.text import report_text
from router.evaluate import LabelledSetError, read_labelled


def examples(rows: Iterable[Mapping[str, Any]], cat: Catalogue) -> list[tuple[str, str]]:
    """(normalised text, label) for each labelled report: the rule and the department as a template."""
    out = []
    for row in rows:
        report, expect = row["report"], row["expect"]
        text = report_text(report.get("title"), report["description"])
        out.append((text, label_of(expect["rule"], template_of(expect["primary"], cat))))
    return out


def model_bytes(rows: Sequence[Mapping[str, Any]], cat: Catalogue, min_count: int = MIN_COUNT) -> bytes:
    """The model file's content: sorted keys, one line, so the same sets give the same bytes."""
    return orjson.dumps(train(examples(rows, cat), min_count), option=orjson.OPT_SORT_KEYS) + b"\n"


def train_rescue_command(
    sets: Annotated[list[Path], typer.Argument(help="labelled JSONL files ({\"report\": …, \"expect\": …})")],
    catalogue: Annotated[Path, typer.Option(help="the catalogue whose departments the labels name")]
    = DEFAULT_CATALOGUE,
    out: Annotated[Path | None, typer.Option(help="model file (default: the one the catalogue names, beside it)")]
    = None,
    min_count: Annotated[int, typer.Option(min=1, help="reports an n-gram needs to be kept")] = MIN_COUNT,
) -> None:
    """Learn the rescue model (a second opinion asked only when no rule is sure enough) from labelled reports.
    Score it on a set it was not trained on: `caseroute route-eval` with and without it."""
    try:
        cat = load_catalogue(catalogue)
        rows = [row for path in sets for row in read_labelled(path)]
    except (OSError, CatalogueError, LabelledSetError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if out is None:
        if cat.rescue_model is None:
            typer.echo("the catalogue names no rescue_model: give --out", err=True)
            raise typer.Exit(2)
        out = catalogue.parent / cat.rescue_model
    data = model_bytes(rows, cat, min_count)
    out.write_bytes(data)
    typer.echo(f"wrote {out}: {len(rows)} labelled reports, {len(data) // 1024} KiB")
