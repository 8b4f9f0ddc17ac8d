"""`make stack` (deploy/local/stack.sh) leaves a system one can call: on a database without API keys it writes an
admin key (0600, only in its file), says where, and that key is accepted while no key is refused."""

from __future__ import annotations

import os
import random
import socket
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]


def _free_port_base() -> int:
    """A base whose next four ports are free (the stack listens on base+1..base+4)."""
    for _ in range(100):
        base = random.randrange(20_000, 29_990)
        try:
            for port in range(base + 1, base + 5):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no four consecutive free ports")


def test_make_stack_writes_an_admin_key_that_the_services_accept(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    base = _free_port_base()
    env = {**os.environ, "CASEROUTE_VAR": str(tmp_path), "STACK_PORT_BASE": str(base),
           # the infrastructure is configured, so up.sh only checks it; KAFKA_PORT makes the shared broker's address
           # differ from the one up.sh would manage itself, so it starts nothing in this test's CASEROUTE_VAR
           "CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "KAFKA_PORT": str(base),
           "CASEROUTE_DATABASE_URL": fresh_postgres, "CASEROUTE_TOPIC_PREFIX": topic_prefix}
    script = REPO / "deploy" / "local" / "stack.sh"
    try:
        started = subprocess.run(["bash", str(script), "start"], env=env, cwd=REPO, capture_output=True, text=True,
                                 timeout=240)
        assert started.returncode == 0, started.stdout + started.stderr
        key_file = tmp_path / "stack" / "admin.key"
        assert f"admin API key: {key_file} (mode 0600, only there)" in started.stdout
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text(encoding="utf-8").strip()
        assert key not in started.stdout + started.stderr
        assert key not in "".join(p.read_text(errors="replace") for p in (tmp_path / "stack").glob("*.log"))
        tracker = f"http://127.0.0.1:{base + 3}"
        assert httpx.get(f"{tracker}/v1/cases", timeout=10).status_code == 401
        answer = httpx.get(f"{tracker}/v1/cases", headers={"authorization": f"Bearer {key}"}, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        stopped = subprocess.run(["bash", str(script), "stop"], env=env, cwd=REPO, capture_output=True, text=True,
                                 timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
