"""`caseroute route-eval`: how well the router places a labelled set of reports (docs/ROUTING.md §9).

A labelled set is JSON lines `{"report": {...}, "expect": {"status", "rule", "primary", "hazard"}}`. Every report
is decided in this process by the same `decide` the router service runs, with the catalogue given (default: the
shipped one); `figures` scores the decisions and is pure, so tests and benches can score decisions of their own.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError

from catalogue.loader import CATALOGUE_DIR, CatalogueError, load_catalogue
from router.domain.decide import decide
from router.rescue_file import compiled
from schemas.report import Report

EXPECTED = ("status", "rule", "primary", "hazard")
SHOWN_MISSES = 15  # printed; the JSON keeps more
KEPT_MISSES = 40


class LabelledSetError(ValueError):
    """The file is not a labelled set; the message names the line."""


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """The rows of a labelled JSONL file, each with a `report` object and an `expect` with every label."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledSetError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("report"), dict):
            raise LabelledSetError(f"{path}:{number}: a line needs a \"report\" object")
        expect = row.get("expect")
        missing = [k for k in EXPECTED if not isinstance(expect, dict) or not isinstance(expect.get(k), str)]
        if missing:
            raise LabelledSetError(f"{path}:{number}: \"expect\" needs {', '.join(missing)} (strings)")
        rows.append(row)
    return rows


def decide_all(rows: Sequence[Mapping[str, Any]], catalogue: Path | None = None) -> list[dict[str, Any]]:
    """One decision per row, as `caseroute route` writes it; a report that does not validate gets an error line."""
    cc = compiled(load_catalogue(catalogue), catalogue.parent if catalogue is not None else CATALOGUE_DIR)
    out: list[dict[str, Any]] = []
    for row in rows:
        raw = row["report"]
        try:
            decision = decide(Report.model_validate(raw), cc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "report"
            out.append({"external_id": raw.get("external_id"), "status": "error",
                        "error": f"{where}: {first['msg']}"})
            continue
        out.append(decision.model_dump(mode="json"))
    return out


def _rule_family(rule: object) -> str:
    """"R7" of "R7" or "R7-unlicensed-prereq": labels name the rule, not its descriptive name."""
    words = str(rule or "").split()
    return words[0].split("-")[0] if words else ""


def figures(rows: Sequence[Mapping[str, Any]], decisions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy figures of decisions against the rows' labels, in the same order (pure)."""
    if len(rows) != len(decisions):
        raise ValueError(f"{len(decisions)} decisions for {len(rows)} labelled reports")
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    rule_ok = hazard_ok = misdispatched = deferred = errors = 0
    wrong: list[list[Any]] = []
    for row, d in zip(rows, decisions, strict=True):
        want = row["expect"]
        rule = want["rule"]
        total[rule] += 1
        errors += d.get("status") == "error"
        if d.get("primary") == want["primary"]:
            right[rule] += 1
        else:
            wrong.append([row["report"].get("external_id"), rule, want["primary"], d.get("rule"), d.get("primary")])
            # The costs of automation differ: a wrong department dispatched at once costs a return cycle (and for
            # a hazard, time); a report held for a human although the catalogue gives it an owner costs an
            # adjudicator's minute. A report that could not be read went nowhere: neither.
            misdispatched += d.get("status") not in ("gap", "error")
        deferred += d.get("status") == "gap" and want["status"] != "gap"
        rule_ok += _rule_family(d.get("rule")) == rule
        hazard_ok += d.get("hazard") == want["hazard"]
    n = len(rows)
    primary_right = sum(right.values())
    return {
        "n": n,
        "primary_right": primary_right,
        "primary_accuracy": primary_right / n if n else 0.0,
        "rule_accuracy": rule_ok / n if n else 0.0,
        "hazard_accuracy": hazard_ok / n if n else 0.0,
        "misdispatched": misdispatched,
        "misdispatch_rate": misdispatched / n if n else 0.0,
        "deferred": deferred,
        "deferred_rate": deferred / n if n else 0.0,
        "unreadable": errors,
        "by_rule": {k: f"{right[k]}/{total[k]}" for k in sorted(total)},
        "wrong": wrong[:KEPT_MISSES],
    }


def summary(figs: Mapping[str, Any]) -> list[str]:
    """The lines printed for a person: the misses first, the totals last (where a terminal leaves the eye)."""
    n = figs["n"]
    lines = [f"wrong: {' '.join(str(v) for v in miss)}" for miss in figs["wrong"][:SHOWN_MISSES]]
    if figs["unreadable"]:
        lines.append(f"reports that do not validate (counted as wrong): {figs['unreadable']}/{n}")
    lines.append("by rule: " + ", ".join(f"{rule} {score}" for rule, score in figs["by_rule"].items()))
    lines.append(f"dispatched to a wrong department automatically: {figs['misdispatched']}/{n}; "
                 f"held for a human though it had an owner: {figs['deferred']}/{n}")
    lines.append(f"primary accuracy {figs['primary_accuracy']:.3f} ({figs['primary_right']}/{n}); "
                 f"rule {figs['rule_accuracy']:.3f}; hazard {figs['hazard_accuracy']:.3f}")
    return lines


def route_eval_command(
    file: Annotated[Path, typer.Argument(help="labelled JSONL: {\"report\": …, \"expect\": {status, rule, primary, "
                                              "hazard}} per line")],
    minimum: Annotated[float, typer.Option("--min", help="exit 1 when primary accuracy is below this")] = 0.95,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the figures here as JSON")] = None,
    catalogue: Annotated[Path | None, typer.Option(help="catalogue file (default: the 海曙 catalogue)")] = None,
) -> None:
    """Route a labelled set in process and print primary, rule and hazard accuracy, by rule, and the misses."""
    try:
        rows = read_labelled(file)
        started = time.perf_counter()
        decisions = decide_all(rows, catalogue)
        seconds = time.perf_counter() - started
    except (OSError, LabelledSetError, CatalogueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if not rows:
        typer.echo(f"{file}: no labelled reports", err=True)
        raise typer.Exit(2)
    figs = figures(rows, decisions) | {"seconds": round(seconds, 2)}
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(figs, option=orjson.OPT_INDENT_2))
    for line in summary(figs):
        typer.echo(line)
    if figs["primary_accuracy"] < minimum:
        raise typer.Exit(1)
