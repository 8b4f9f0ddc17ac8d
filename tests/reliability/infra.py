"""Private Kafka and PostgreSQL for tests that stop or kill them: own ports, own state dir, stopped at the end."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"
# Shared dev/CI servers and the default cluster live below 30000; ours come from a range nobody else uses.
PORT_RANGE = (30000, 32700)


def private_port(taken: set[int] | None = None) -> int:
    """A free loopback port in 30000-32700, so we never collide with the shared servers or the default cluster."""
    taken = taken if taken is not None else set()
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in the private range")


@dataclass
class Script:
    """One deploy/local script with a private environment; every call is bounded in time."""

    path: Path
    env: dict[str, str]
    last_seconds: float = 0.0

    def __call__(self, *args: str, timeout: float = 240) -> str:
        started = time.monotonic()
        done = subprocess.run(["bash", str(self.path), *args], env={**os.environ, **self.env}, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{self.path.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.last_seconds = time.monotonic() - started
        return done.stdout.strip()


@contextmanager
def kafka_broker(var: Path) -> Iterator[tuple[str, Script]]:
    """A single KRaft broker of our own: (bootstrap, kafka.sh bound to its ports)."""
    taken: set[int] = set()
    env = {"CASEROUTE_VAR": str(var), "KAFKA_PORT": str(private_port(taken)),
           "KAFKA_CONTROLLER_PORT": str(private_port(taken)), "KAFKA_WAIT_TIMEOUT": "60", "KAFKA_STOP_TIMEOUT": "20"}
    script = Script(LOCAL / "kafka.sh", env)
    script("start")
    try:
        yield script("bootstrap"), script
    finally:
        script("stop")


@contextmanager
def kafka_cluster(var: Path) -> Iterator[tuple[str, Script]]:
    """Three KRaft brokers of our own (rf 3, min ISR 2): (bootstrap, kafka-cluster.sh bound to its ports)."""
    taken: set[int] = set()
    brokers = [str(private_port(taken)) for _ in range(3)]
    controllers = [str(private_port(taken)) for _ in range(3)]
    env = {"CASEROUTE_VAR": str(var), "KAFKA_CLUSTER_BROKER_PORTS": " ".join(brokers),
           "KAFKA_CLUSTER_CONTROLLER_PORTS": " ".join(controllers), "KAFKA_WAIT_TIMEOUT": "60",
           "KAFKA_STOP_TIMEOUT": "20"}
    script = Script(LOCAL / "kafka-cluster.sh", env)
    script("start", timeout=300)
    try:
        yield script("bootstrap"), script
    finally:
        script("stop")


@contextmanager
def postgres_server(var: Path) -> Iterator[tuple[str, Script]]:
    """A PostgreSQL cluster of our own: (SQLAlchemy URL, postgres.sh bound to its port and dir)."""
    env = {"CASEROUTE_VAR": str(var), "PG_PORT": str(private_port()), "PG_WAIT_TIMEOUT": "60",
           "PG_STOP_TIMEOUT": "20"}
    script = Script(LOCAL / "postgres.sh", env)
    script("start")
    where = Path(script("dir"))
    try:
        yield script("url"), script
    finally:
        script("stop")
        # As root the cluster may live outside our tmp dir (/var/tmp/caseroute-<hash>): remove it too.
        if where.is_dir() and not where.is_relative_to(var):
            shutil.rmtree(where.parent if where.parent.name.startswith("caseroute-") else where,
                          ignore_errors=True)
