"""Quick timing of decide() on the dev set: `python -m bench.router_timing [DEV_JSONL]` (not a unit test)."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from bench.synthetic import synthetic_catalogue
from catalogue.loader import load_catalogue
from router.domain.compiled import CompiledCatalogue, compile_uncached
from router.domain.decide import decide
from router.rescue_file import rescue_for
from schemas.report import Report

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev_cases.jsonl"


def _rate(reports: list[Report], cc: CompiledCatalogue, seconds: float = 3.0) -> float:
    """Decisions per CPU-second, best of one-pass runs: on a shared box other load only slows a run down."""
    for report in reports:  # warm caches (normalisation tables, lazy imports)
        decide(report, cc)
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.process_time()
        for report in reports:
            decide(report, cc)
        best = min(best, time.process_time() - start)
    return len(reports) / best


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    """Print decisions per second for the default and a 5,000-matter catalogue, with peak RSS."""
    dev = Path(argv[1]) if len(argv) > 1 else DEFAULT_DEV
    reports = [Report.model_validate(json.loads(line)["report"]) for line in dev.open(encoding="utf-8")]
    base = load_catalogue()
    t = time.perf_counter()
    rescue = rescue_for(base)  # as shipped
    default = compile_uncached(base, rescue)
    print(f"compile default: {(time.perf_counter() - t) * 1000:.0f} ms")
    rate = _rate(reports, default)
    print(
        f"default catalogue: {rate:,.0f} decisions/s ({1e6 / rate:.1f} µs each), peak RSS {_rss_mb():.0f} MB"
    )
    t = time.perf_counter()
    big = compile_uncached(synthetic_catalogue(base), rescue)
    print(f"compile 5,000 matters: {(time.perf_counter() - t) * 1000:.0f} ms")
    rate_big = _rate(reports, big)
    print(
        f"5,000-matter catalogue: {rate_big:,.0f} decisions/s ({1e6 / rate_big:.1f} µs each), "
        f"ratio {rate / rate_big:.2f}x, peak RSS {_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main(sys.argv)
