"""Start caseroute services as separate OS processes, as deployed, and watch them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.credentials import auth_headers

CASEROUTE = [sys.executable, "-m", "caseroute.cli"]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    """One `caseroute <name>` process; its log file is printed when a test fails."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, "CASEROUTE_HTTP_PORT": str(self.port),
               "CASEROUTE_PUBLIC_BASE_URL": self.url}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([*CASEROUTE, *(self.args or [self.name])], env=env, cwd=REPO,
                                        stdout=log, stderr=subprocess.STDOUT)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(timeout):
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
                try:
                    if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        """kill -9: no graceful shutdown, as a crash would do."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM and wait for the graceful shutdown."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running(services: list[ServiceProcess]) -> Iterator[list[ServiceProcess]]:
    """Start the services; stop them afterwards and show their logs when something failed."""
    for service in services:
        service.start()
    failed = True
    try:
        yield services
        failed = False
    finally:
        for service in services:
            code = service.stop()
            if failed or code not in (0, None, -signal.SIGKILL):
                sys.stderr.write(f"\n----- {service.name} (exit {code}) -----\n{service.tail()}\n")


async def wait_status(client: httpx.AsyncClient, case_id: str, wanted: set[str], timeout: float = 60
                      ) -> dict[str, Any]:
    """The tracker's view of a case once its status is one of `wanted` (polls GET /v1/cases/{id} as an operator)."""
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(f"/v1/cases/{case_id}", headers=auth_headers("operator", "test-watcher"))
            if response.status_code == 200 and response.json()["status"] in wanted:
                return dict(response.json())
            await asyncio.sleep(0.2)
