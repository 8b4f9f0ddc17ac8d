"""`caseroute route` as a user runs it: in a process of its own, JSON lines in and out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def route_lines(lines: str, *, jobs: int = 1, env: Mapping[str, str] | None = None) -> str:
    """The decision lines for report lines. A process of its own, not the test process: forked workers would copy
    the locks that other tests' threads hold."""
    done = subprocess.run([sys.executable, "-m", "caseroute.cli", "route", "--jobs", str(jobs)], input=lines,
                          env=None if env is None else dict(env), capture_output=True, text=True, check=True,
                          timeout=300, cwd=REPO)
    return done.stdout
