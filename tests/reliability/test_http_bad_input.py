"""Hostile HTTP input against the embedded app: fuzzing finds no 5xx; limits, nesting, bad UTF-8, stored verbatim."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import ServiceProcess
from tests.reliability.load import unique_reports
from tests.support.credentials import OPERATOR, auth_headers, credential_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
async def app_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """`caseroute run --embedded` as a process on a temporary SQLite file."""
    where = tmp_path_factory.mktemp("embedded")
    service = ServiceProcess("embedded", {"CASEROUTE_DATABASE_URL": f"sqlite+aiosqlite:///{where / 'db.sqlite'}",
                                          "CASEROUTE_LOG_LEVEL": "WARNING"},
                             where / "embedded.log", args=["run", "--embedded"])
    service.start()
    try:
        await service.wait_ready(90)
        yield service.url
    finally:
        if service.stop() not in (0, None):
            sys.stderr.write(service.tail())


async def _requests(url: str) -> tuple[int, int]:
    """(all requests, 5xx answers) the app has served, from its own metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    total = errors = 0
    for line in text.splitlines():
        if line.startswith("http_requests_total{"):
            count = int(float(line.rsplit(" ", 1)[1]))
            total += count
            errors += count if 'status="5' in line else 0
    return total, errors


def _header_args(headers: dict[str, str]) -> list[str]:
    return [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]


async def test_fuzzing_every_operation_finds_no_server_error(app_url: str, tmp_path: Path) -> None:
    before, errors_before = await _requests(app_url)
    command = [str(SCHEMATHESIS), "run", f"{app_url}/openapi.json", "--checks", "not_a_server_error",
               "--max-examples", "80", "--seed", "7", "--workers", "2", "--request-timeout", "20",
               "--phases", "examples,coverage,fuzzing", *_header_args(auth_headers("admin", "fuzzer")), "--no-shrink",
               # The event stream never ends by design (tests/integration/notifier/test_stream.py covers it):
               # as admin, every fuzzed request to it would wait out the request timeout.
               "--exclude-path", "/v1/stream",
               "--suppress-health-check", "all", "--report-dir", str(tmp_path)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=240,
                                  cwd=tmp_path)  # its example database stays out of the checkout
    after, errors_after = await _requests(app_url)
    (tmp_path / "schemathesis.out").write_text(done.stdout)
    print(f"\nschemathesis: {after - before} requests, {errors_after - errors_before} 5xx, exit {done.returncode}")
    assert errors_after == errors_before, done.stdout[-4000:]
    assert after - before >= 2000


async def test_limits_nesting_and_bad_utf8_are_4xx(app_url: str) -> None:
    headers = {"content-type": "application/json", **auth_headers("grid-app", "fuzz")}  # past authentication
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        too_big = await client.post("/v1/reports", content=b'{"x":"' + b"a" * (300 * 1024) + b'"}', headers=headers)
        nested = await client.post("/v1/reports", content=b"[" * 10_000 + b"]" * 10_000, headers=headers)
        nested_obj = await client.post("/v1/reports", content=b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
                                       headers=headers)
        bad_utf8 = await client.post("/v1/reports", content=b'{"external_id":"\xff\xfe"}', headers=headers)
        chunked = await client.post("/v1/reports", content=_chunks(300 * 1024), headers=headers)
        # NUL cannot be stored by PostgreSQL: refused by validation, never a 503 after acceptance.
        nul = await client.post("/v1/reports", json={**unique_reports(1, "NUL")[0], "description": "a\u0000b"},
                                headers=headers)
        alive = await client.get("/healthz")
    statuses = [r.status_code for r in (too_big, nested, nested_obj, bad_utf8, chunked, nul)]
    print(f"\nbad bodies: statuses {statuses}")
    assert too_big.status_code == 413 and chunked.status_code == 413
    assert nul.status_code == 422 and "NUL" in nul.text
    assert all(400 <= s < 500 for s in statuses)
    assert alive.status_code == 200


async def _chunks(size: int) -> AsyncIterator[bytes]:
    """A body without Content-Length, so the limit must hold while reading."""
    yield b'{"x":"'
    for _ in range(size // 8192):
        yield b"a" * 8192
    yield b'"}'


async def test_sql_and_html_text_is_stored_verbatim(app_url: str) -> None:
    hostile = "'; DROP TABLE intake_reports;-- <script>alert(1)</script> \" \\ \u2028 ％ 𝕏"
    report = {**unique_reports(1, "HOSTILE")[0], "title": hostile[:100], "description": hostile}
    async with httpx.AsyncClient(base_url=app_url, headers=OPERATOR, timeout=30) as client:
        accepted = await client.post("/v1/reports", json=report)
        assert accepted.status_code == 202
        case_url = f"/v1/cases/{accepted.json()['case_id']}"
        async with asyncio.timeout(30):
            while (case := await client.get(case_url)).status_code != 200:
                await asyncio.sleep(0.2)
        again = await client.post("/v1/reports", json={**report, "external_id": "HOSTILE-2"})
    stored = case.json()["report"]
    assert stored["description"] == hostile and stored["title"] == hostile[:100]
    assert again.status_code == 202, "the table is still there"


def _console_schema() -> dict[str, Any]:
    """The console's pages as an OpenAPI document: they are left out of the served one (HTML, not an API), but
    their query, path and form parameters are input like any other."""
    from fastapi.openapi.utils import get_openapi

    from tracker.console.routes import router as console

    routes = [copy.copy(route) for route in console.routes]  # copies: the module's routes stay out of any schema
    for route in routes:
        route.include_in_schema = True  # type: ignore[attr-defined]
    return get_openapi(title="caseroute console", version="1", routes=routes)


async def test_fuzzing_the_console_finds_no_server_error(app_url: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=app_url, timeout=20) as client:
        form = await client.get("/console/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        logged_in = await client.post("/console/login", data={"credential": credential_for("admin", "fuzzer"),
                                                               "login_token": token.group(1)},
                                      headers={"Origin": app_url, "Sec-Fetch-Site": "same-origin"})
        assert logged_in.status_code == 303, logged_in.text[:500]
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    schema = tmp_path / "console.json"
    schema.write_text(json.dumps(_console_schema()))
    before, errors_before = await _requests(app_url)
    command = [str(SCHEMATHESIS), "run", str(schema), "--url", app_url, "--checks", "not_a_server_error",
               "--max-examples", "40", "--seed", "7", "--workers", "2", "--request-timeout", "20",
               "--phases", "examples,coverage,fuzzing", "-H", f"Cookie: {cookies}",
               "-H", f"Origin: {app_url}", "-H", "Sec-Fetch-Site: same-origin", "--no-shrink",
               "--exclude-path", "/console/logout",  # it would end the fuzzer's own session
               "--suppress-health-check", "all", "--report-dir", str(tmp_path)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=240,
                                  cwd=tmp_path)
    after, errors_after = await _requests(app_url)
    print(f"\nschemathesis on the console: {after - before} requests, {errors_after - errors_before} 5xx, "
          f"exit {done.returncode}")
    assert errors_after == errors_before, done.stdout[-4000:]
    assert after - before >= 300, done.stdout[-3000:]
