"""Routing quality on every labelled set: accuracy, automatic misdispatch, calibration, and `caseroute route` speed.

Run `python -m bench.routing_bench` (or `make bench`) from the repository root; writes bench/results/routing.json.
The labelled sets are the JSONL files given with --sets (default: every *_cases.jsonl beside the repository in
shared/data, and tests/data/*_cases.jsonl). The catalogue is hand-written general knowledge; the rescue model is
trained on these sets and the suggestion loop learns from them, so both are also scored by held-out set, and the
sets of tests/heldout (written blind, never read, never trained on) are scored apart as what unseen reports get.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from bench.machine import facts
from catalogue.loader import load_catalogue, parse_catalogue
from catalogue.model import Catalogue
from catalogue.suggestions import Example, with_suggestions
from router.cli import usable_cpus
from router.domain.compiled import compile_uncached
from router.domain.decide import decide
from router.domain.rescue import RescueModel
from router.domain.suggest import suggest
from router.rescue_file import compiled
from router.rescue_training import model_bytes
from schemas.decision import Decision
from schemas.report import Report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "routing.json"
SHARED = ROOT.parent / "shared" / "data"
BUCKETS = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
THRESHOLDS = [0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
SPEED_LINES = 20_000  # `caseroute route` end to end: enough lines that start-up is a small part


HELD_OUT = ROOT / "tests" / "heldout"


def held_out_rows() -> list[dict[str, Any]]:
    """The unread sets of tests/heldout (gzip-compressed so that nobody reads them by accident)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(HELD_OUT.glob("*_cases.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def default_sets() -> list[Path]:
    return sorted([*SHARED.glob("*_cases.jsonl"), *(ROOT / "tests" / "data").glob("*_cases.jsonl")])


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def outcome(row: dict[str, Any], d: Decision) -> dict[str, Any]:
    want = row["expect"]
    return {"right": d.primary == want["primary"], "gap": d.status == "gap", "owned": want["status"] != "gap",
            "confidence": d.confidence, "rule": want["rule"], "got_rule": d.rule}


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(results)
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        by_rule[r["rule"]][0] += r["right"]
        by_rule[r["rule"]][1] += 1
    wrong_auto = sum(1 for r in results if not r["gap"] and not r["right"])
    held = sum(1 for r in results if r["gap"] and r["owned"])
    return {"reports": n, "primary_accuracy": round(sum(r["right"] for r in results) / n, 4),
            "wrong_department_automatically": wrong_auto, "wrong_department_rate": round(wrong_auto / n, 4),
            "held_though_owned": held, "held_rate": round(held / n, 4),
            "by_rule": {k: f"{ok}/{total}" for k, (ok, total) in sorted(by_rule.items())}}


def calibration(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Confidence bucket → how often a report routed automatically with that confidence went to the right place."""
    counts: dict[float, Counter[str]] = {b: Counter() for b in BUCKETS}
    for r in results:
        if r["gap"]:
            continue
        bucket = max(b for b in BUCKETS if r["confidence"] >= b or b == BUCKETS[0])
        counts[bucket]["routed"] += 1
        counts[bucket]["right"] += r["right"]
    return [{"confidence": f"{b:.1f}–{b + 0.1:.1f}" if b < 0.9 else "0.9–1.0", "routed": c["routed"],
             "accuracy": round(c["right"] / c["routed"], 4) if c["routed"] else None} for b, c in counts.items()]


def threshold_sweep(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each confidence threshold would trade: fewer wrong automatic dispatches for more reports held."""
    n = len(results)
    out = []
    for t in THRESHOLDS:
        wrong = sum(1 for r in results if not r["gap"] and r["confidence"] >= t and not r["right"])
        held = sum(1 for r in results if r["owned"] and (r["gap"] or r["confidence"] < t))
        out.append({"threshold": t, "wrong_department_rate": round(wrong / n, 4), "held_rate": round(held / n, 4)})
    return out


def loop_held_out(named: dict[str, list[dict[str, Any]]], base: Catalogue) -> dict[str, Any]:
    """What the suggestion loop learns, by held-out set: suggestions mined from the other sets' labels (as if a
    human had placed those cases) all accepted, then the held-out set scored before and after."""
    cc = compile_uncached(base)
    out: dict[str, Any] = {}
    for held, rows in named.items():
        taught = [Example(r["report"].get("external_id") or str(i), Report.model_validate(r["report"]),
                          r["expect"]["primary"], "label")
                  for name, other in named.items() if name != held for i, r in enumerate(other)]
        found = suggest(cc, taught)
        doc = {**with_suggestions(base, found), "version": f"{base.version}+suggested"}
        learned = compile_uncached(parse_catalogue(doc))
        before = figures([outcome(r, decide(Report.model_validate(r["report"]), cc)) for r in rows])
        after = figures([outcome(r, decide(Report.model_validate(r["report"]), learned)) for r in rows])
        out[held] = {"suggestions_accepted": [s.id for s in found],
                     "before": {k: before[k] for k in ("primary_accuracy", "wrong_department_automatically")},
                     "after": {k: after[k] for k in ("primary_accuracy", "wrong_department_automatically")}}
    return out


def rescue_held_out(named: dict[str, list[dict[str, Any]]], base: Catalogue) -> dict[str, Any]:
    """The rescue model by held-out set: trained on every other set, the held-out one scored without and with it.
    The figures for the model as shipped are the "sets" above, which it was trained on."""
    plain = compile_uncached(base)
    out: dict[str, Any] = {}
    for held, rows in named.items():
        others = [r for name, other in named.items() if name != held for r in other]
        model = RescueModel(orjson.loads(model_bytes(others, base)))
        rescued = compile_uncached(base, model)
        scores = {}
        for name, cc in (("without", plain), ("with", rescued)):
            found = figures([outcome(r, decide(Report.model_validate(r["report"]), cc)) for r in rows])
            scores[name] = {k: found[k] for k in ("primary_accuracy", "wrong_department_automatically",
                                                   "held_though_owned")}
        out[held] = scores
    return out


def unread(cc: Any) -> dict[str, Any]:
    """Figures and calibration on the sets of tests/heldout: reports nobody working on the router has read."""
    rows = held_out_rows()
    if not rows:
        return {}
    results = [outcome(row, decide(Report.model_validate(row["report"]), cc)) for row in rows]
    return {"sets": len(list(HELD_OUT.glob("*_cases.jsonl.gz"))), **figures(results),
            "calibration": calibration(results)}


def route_speed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    lines = [json.dumps(r["report"], ensure_ascii=False) for r in rows]
    body = "\n".join(lines[i % len(lines)] for i in range(SPEED_LINES)) + "\n"
    cli = Path(sys.executable).with_name("caseroute")
    out: dict[str, Any] = {"reports": SPEED_LINES, "target_reports_per_s": 10_000, "cpus": usable_cpus()}
    for name, args in (("default", []), ("one_process", ["--jobs", "1"])):  # one CPU each, or --jobs 1
        started = time.perf_counter()
        done = subprocess.run([str(cli), "route", *args], input=body.encode(), capture_output=True, check=True)
        seconds = time.perf_counter() - started
        assert done.stdout.count(b"\n") == SPEED_LINES
        out[name] = {"seconds": round(seconds, 2), "reports_per_s": round(SPEED_LINES / seconds)}
    out["reports_per_s"] = out["default"]["reports_per_s"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", type=Path, nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    base = load_catalogue()
    cc = compiled(base)
    named: dict[str, list[dict[str, Any]]] = {}
    per_set: dict[str, Any] = {}
    every: list[dict[str, Any]] = []
    rows_all: list[dict[str, Any]] = []
    for path in args.sets or default_sets():
        rows = load(path)
        results = [outcome(row, decide(Report.model_validate(row["report"]), cc)) for row in rows]
        per_set[path.name.removesuffix("_cases.jsonl")] = figures(results)
        named[path.name.removesuffix("_cases.jsonl")] = rows
        every += results
        rows_all += rows
    result = {
        "machine": facts(),
        "catalogue": cc.version,
        "threshold_in_catalogue": cc.catalogue.settings.confidence_threshold,
        "fitted_to_data": "the rescue model (trained on every set above) and the suggestion loop; both are measured "
                          "by held-out set below, and on the unread sets of tests/heldout. The catalogue's own "
                          "knowledge is hand-written.",
        "sets": per_set,
        "all": figures(every),
        "calibration": calibration(every),
        "unread_held_out": unread(cc),
        "threshold_sweep": threshold_sweep(every),
        "suggestion_loop_held_out": loop_held_out(named, base),
        "rescue_held_out": rescue_held_out(named, base),
        "route_cli": route_speed(rows_all),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return result


if __name__ == "__main__":
    main()
