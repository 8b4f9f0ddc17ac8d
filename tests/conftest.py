"""Shared fixtures: real servers come from CASEROUTE_KAFKA_BOOTSTRAP and CASEROUTE_DATABASE_URL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.settings import KafkaSettings, Settings
from tests.support.credentials import TEST_AUTH_ENV
from tests.support.databases import scratch_database
from tests.support.topics import drop_test_topics

# Services started in this process or as child processes accept the test credentials (and only those).
os.environ.update(TEST_AUTH_ENV)
# The tests' webhook receivers listen on loopback: opted in, as any local demo must (services/netguard.py). The
# default refuses them; tests/unit/security/test_outbound_urls.py checks the default.
os.environ["CASEROUTE_OUTBOUND_ALLOW_NETWORKS"] = '["127.0.0.0/8", "::1/128"]'

REPO = Path(__file__).resolve().parent.parent
DEV_CASES = REPO.parent / "shared" / "data" / "dev_cases.jsonl"


def required_env(name: str) -> str:
    """Integration tests need the real servers: `make test` starts them; without them the test fails."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`, which starts Kafka and PostgreSQL")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return required_env("CASEROUTE_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return required_env("CASEROUTE_DATABASE_URL")


@pytest.fixture
async def topic_prefix() -> AsyncIterator[str]:
    """Each test gets its own topics, so tests never read each other's messages; they are deleted after it, so
    the suite leaves the broker as it found it."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    _PREFIXES.append(prefix)
    yield prefix
    if bootstrap := os.environ.get("CASEROUTE_KAFKA_BOOTSTRAP"):
        await drop_test_topics(bootstrap, prefix)


_PREFIXES: list[str] = []  # every prefix topic_prefix handed out in this session


@pytest.fixture(scope="session", autouse=True)
async def _topics_left_behind() -> AsyncIterator[None]:
    """The session's topics that came back after their test deleted them, deleted once every test is over.

    A client still running when its test's topics are deleted (a consumer, a relay, a process being stopped)
    makes the test broker auto-create them again: ~35 a full run were left so. Only this session's prefixes are
    deleted, so a broker that other runs share keeps theirs."""
    yield
    if (bootstrap := os.environ.get("CASEROUTE_KAFKA_BOOTSTRAP")) and _PREFIXES:
        await drop_test_topics(bootstrap, tuple(_PREFIXES))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL, once a SQLite file (the embedded mode) and once a fresh PostgreSQL database: the handler
    tests run the same code on both, as production and `make run` do."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'handlers.db'}"
        return
    async with scratch_database("t", required_env("CASEROUTE_DATABASE_URL")) as (url, _):
        yield url


@pytest.fixture
async def fresh_postgres(postgres_url: str) -> AsyncIterator[str]:
    """A new empty database on the real server for one test, dropped afterwards."""
    async with scratch_database("t", postgres_url) as (url, _):
        yield url


def kafka_settings(bootstrap: str, prefix: str, database_url: str, **extra: object) -> Settings:
    return Settings(topic_prefix=prefix, database_url=database_url,
                    kafka=KafkaSettings(bootstrap=bootstrap, partitions=2), **extra)  # type: ignore[arg-type]


def dev_reports() -> list[dict[str, object]]:
    """The labelled development set's reports (inputs only)."""
    return [json.loads(line)["report"] for line in DEV_CASES.read_text(encoding="utf-8").splitlines() if line]
