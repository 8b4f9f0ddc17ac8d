"""API keys on PostgreSQL: one key table for every service; a revoked key stops working everywhere in the bound."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from schemas.envelope import Envelope
from services import migrate
from services.auth import keys
from services.auth.bootstrap import AUTH_MIGRATIONS
from services.auth.models import AuthAudit
from services.db import Database
from services.principal import Caller
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.conftest import REPO, dev_reports
from tests.integration.harness import TopicReader, running
from tests.support.service_apps import tracker

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(90)]


async def test_a_key_works_in_every_service_until_revoked(fresh_postgres: str) -> None:
    settings = Settings(database_url=fresh_postgres, kafka=KafkaSettings(bootstrap=None),
                        auth=AuthSettings(cache_s=0.5))
    async with running(settings, [intake]) as intake_app, running(settings, [tracker]) as tracker_app:
        db = intake_app.state.runtime.db
        key = await keys.create_key(db, role="grid-app", name="app", by=Caller("admin", "ops"))
        headers = {"Authorization": f"Bearer {key.secret}"}
        intake_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://i")
        tracker_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=tracker_app), base_url="http://t")
        async with intake_client, tracker_client:
            assert (await intake_client.post("/v1/reports", json=dev_reports()[0], headers=headers)).status_code == 202
            assert (await tracker_client.get("/v1/cases", headers=headers)).status_code == 200
            assert await keys.revoke_key(db, key.key_id, by=Caller("admin", "ops"))
            await asyncio.sleep(0.6)  # the cache bound
            refused = [await intake_client.post("/v1/reports", json=dev_reports()[1], headers=headers),
                       await tracker_client.get("/v1/cases", headers=headers)]
        async with db.sessions() as session:
            audit = (await session.execute(select(AuthAudit.action, AuthAudit.actor))).all()
    assert [r.status_code for r in refused] == [401, 401]
    assert all("revoked" in r.json()["detail"] for r in refused)
    assert sorted(tuple(a) for a in audit) == [("key.create", "admin:ops"), ("key.revoke", "admin:ops")]


@pytest.mark.kafka
async def test_publishing_a_catalogue_needs_an_admin_and_is_audited(fresh_postgres: str, kafka_bootstrap: str,
                                                                   topic_prefix: str) -> None:
    db = Database(fresh_postgres)
    await migrate.upgrade(db, "auth", AUTH_MIGRATIONS)
    admin = await keys.create_key(db, role="admin", name="catalogue-keeper", by=Caller("admin", "ops"))
    department = await keys.create_key(db, role="department", name="amr", by=Caller("admin", "ops"))
    env = {**os.environ, "CASEROUTE_DATABASE_URL": fresh_postgres, "CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix}

    def publish(key: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "caseroute.cli", "catalogue", "publish",
                               "catalogue/data/haishu.yaml", "--reason", "test",
                               *(["--key", key] if key else [])],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=90)

    refused = [await asyncio.to_thread(publish, k) for k in (department.secret, None, "crk_nope_nope")]
    published = await asyncio.to_thread(publish, admin.secret)
    assert [r.returncode for r in refused] == [3, 3, 3], [r.stderr for r in refused]
    assert "role admin" in refused[0].stderr
    assert published.returncode == 0, published.stderr
    async with TopicReader(kafka_bootstrap, [f"{topic_prefix}catalogue.v1"]) as reader:
        (message,) = await reader.until(lambda m: len(m) >= 1)
    assert Envelope.from_bytes(message.value).data["published_by"] == "admin:catalogue-keeper"
    async with db.sessions() as session:
        rows = (await session.execute(select(AuthAudit).where(AuthAudit.action == "catalogue.publish"))).scalars()
        (row,) = list(rows)
    await db.dispose()
    assert row.actor == "admin:catalogue-keeper" and row.target == "海曙区" and row.detail["reason"] == "test"
