"""API keys: accepted while valid; refused (401) when unknown, wrong, expired or revoked; revocation within the cache
bound; creation and revocation audited; `caseroute keys` creates, lists and revokes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from services import migrate
from services.auth import keys
from services.auth.authenticator import Authenticator
from services.auth.bootstrap import AUTH_MIGRATIONS, bootstrap_admin_key
from services.auth.models import ApiKey, AuthAudit
from services.db import Database
from services.principal import Caller
from services.problems import Problem
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.conftest import REPO, dev_reports
from tests.integration.harness import running

ADMIN = Caller("admin", "tests")


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}")
    await migrate.upgrade(database, "auth", AUTH_MIGRATIONS)
    return database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _refused(auth: Authenticator, credential: str) -> str:
    with pytest.raises(Problem) as refused:
        await auth.verify(credential)
    assert refused.value.status == 401
    return refused.value.detail or ""


async def test_a_key_is_accepted_and_refused_when_unknown_wrong_or_expired(db: Database) -> None:
    auth = Authenticator(AuthSettings(), db)
    new = await keys.create_key(db, role="department", name="amr", by=ADMIN, expires_in=timedelta(days=90))
    caller = await auth.verify(new.secret)
    assert (caller.role, caller.name, caller.key) == ("department", "amr", f"key:{new.key_id}")
    key_id, secret = keys.split(new.secret) or ("", "")
    assert "unknown" in await _refused(auth, f"crk_{key_id}_{secret[:-2]}xx")  # right id, wrong secret
    assert "unknown" in await _refused(auth, f"crk_000000000000_{secret}")
    assert await _refused(auth, "crk_")
    expired = await keys.create_key(db, role="grid-app", name="app", by=ADMIN, expires_in=timedelta(seconds=-1))
    assert "expired" in await _refused(auth, expired.secret)
    async with db.sessions() as session:
        row = await session.get(ApiKey, new.key_id)
    assert row is not None and row.last_used_at is not None
    assert secret not in row.secret_hash and len(row.secret_hash) == 64, "only the hash is stored"
    await db.dispose()


async def test_revocation_takes_effect_within_the_cache_time_and_is_audited(db: Database) -> None:
    clock = Clock()
    auth = Authenticator(AuthSettings(cache_s=5), db, clock=clock)
    old = await keys.create_key(db, role="grid-app", name="app", by=ADMIN)
    new = await keys.create_key(db, role="grid-app", name="app", by=ADMIN)  # rotation: both valid for a while
    assert (await auth.verify(old.secret)).name == (await auth.verify(new.secret)).name == "app"
    assert await keys.revoke_key(db, old.key_id, by=ADMIN)
    assert not await keys.revoke_key(db, "nosuchkey", by=ADMIN)
    clock.now += 4  # still within the cache time: the verification made before the revocation stands
    assert (await auth.verify(old.secret)).role == "grid-app"
    clock.now += 1.5
    assert "revoked" in await _refused(auth, old.secret)
    assert (await auth.verify(new.secret)).role == "grid-app", "the rotated key goes on working"
    async with db.sessions() as session:
        audit = (await session.execute(select(AuthAudit).order_by(AuthAudit.id))).scalars().all()
    assert [(a.action, a.actor) for a in audit] == [("key.create", "admin:tests")] * 2 + [("key.revoke", "admin:tests")]
    assert audit[2].target == old.key_id
    assert [k.key_id for k in await keys.list_keys(db)] == [new.key_id]
    await db.dispose()


async def test_keys_need_a_known_role_and_a_plain_name(db: Database) -> None:
    for role, name in (("superuser", "x"), ("department", "Bad Name"), ("department", "")):
        with pytest.raises(ValueError):
            await keys.create_key(db, role=role, name=name, by=ADMIN)
    assert keys.parse_duration("90d") == timedelta(days=90) and keys.parse_duration("30m") == timedelta(minutes=30)
    with pytest.raises(ValueError):
        keys.parse_duration("forever")
    await db.dispose()


async def test_the_api_takes_keys_by_bearer_or_x_api_key_and_never_a_caller_header(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake]) as app:
        new = await keys.create_key(app.state.runtime.db, role="grid-app", name="app", by=ADMIN)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            report = dev_reports()[0]
            bearer = await client.post("/v1/reports", json=report, headers={"Authorization": f"Bearer {new.secret}"})
            header = await client.post("/v1/reports", json=report, headers={"X-Api-Key": new.secret})
            trusted = await client.post("/v1/reports", json=report, headers={"X-Caller": "admin:me"})
            nothing = await client.post("/v1/reports", json=report)
    assert bearer.status_code == 202 and header.status_code == 202
    assert header.json()["case_id"] == bearer.json()["case_id"]
    assert trusted.status_code == nothing.status_code == 401
    assert nothing.headers["content-type"] == "application/problem+json"
    assert nothing.headers["www-authenticate"].startswith("Bearer")


async def test_the_first_embedded_start_writes_one_admin_key(db: Database, tmp_path: Path) -> None:
    target = tmp_path / "var" / "admin.key"
    settings = AuthSettings(bootstrap_admin_file=target)
    await bootstrap_admin_key(db, settings)
    secret = target.read_text().strip()
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert (await Authenticator(AuthSettings(), db).verify(secret)).role == "admin"
    target.unlink()
    await bootstrap_admin_key(db, settings)
    assert not target.exists(), "only when no key exists at all"
    await db.dispose()


def _keys_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEROUTE_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "caseroute.cli", "keys", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_the_keys_command_creates_lists_and_revokes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    created = _keys_cli(url, "create", "--role", "department", "--name", "amr", "--expires", "90d")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    key_id = (keys.split(secret) or ("", ""))[0]
    listed = [json.loads(line) for line in _keys_cli(url, "list").stdout.splitlines()]
    assert [(k["key_id"], k["role"], k["name"]) for k in listed] == [(key_id, "department", "amr")]
    assert listed[0]["expires_at"] and listed[0]["created_by"].startswith("admin:cli-")
    assert secret.split("_", 2)[2] not in json.dumps(listed), "list never shows a secret"
    assert _keys_cli(url, "revoke", key_id).returncode == 0
    assert _keys_cli(url, "list").stdout.strip() == ""
    assert json.loads(_keys_cli(url, "list", "--all").stdout)["revoked"] is True
    assert _keys_cli(url, "revoke", "nosuchkey").returncode == 1
    assert _keys_cli(url, "create", "--role", "root", "--name", "x").returncode != 0
