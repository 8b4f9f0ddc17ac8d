"""API keys on PostgreSQL: one key table for every service; a revoked key stops working everywhere in the bound."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from services.auth import keys
from services.auth.models import AuthAudit
from services.caller import Caller
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tracker.bootstrap import build as tracker

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
