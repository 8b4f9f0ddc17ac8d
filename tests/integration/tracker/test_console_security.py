"""The console's sessions and forms as the security probe attacked them, on PostgreSQL (tracker in process):
a session ends with its key (revoked, expired), with its JWT, and at logout on the server; a form posted from
another origin or without the session's CSRF token is refused while the real form flow works; the pages carry
the security headers; and reading a case with personal data is audited."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.auth import keys
from services.principal import Caller
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.credentials import credential_for
from tests.support.service_apps import tracker
from tracker.store.models import Case, CatalogueVersion, TrackerAudit

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
BASE = "http://tracker"  # the Host the browser addressed: same origin is http://tracker
ADMIN = Caller("admin", "ops")
CACHE_S = 0.5
FORGED = {"Origin": "http://tracker:9916", "Sec-Fetch-Site": "same-site"}  # another port of the same host
REAL = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
PERSONAL = {"external_id": "G-1", "source": "grid", "title": "噪音扰民", "description": "楼下烧烤店深夜噪音",
            "reporter_name": "张三丰", "reporter_phone": "13912345678", "location": {"unit": "nanmen"}}


@pytest.fixture
async def app(fresh_postgres: str) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=fresh_postgres, kafka=KafkaSettings(bootstrap=None),
                        auth=AuthSettings(cache_s=CACHE_S), console_secret="console-test-secret")  # type: ignore[arg-type]
    async with running(settings, [tracker]) as application:
        now = datetime.now(UTC)
        async with application.state.runtime.db.transaction() as session:
            session.add(Case(case_id="C-P1", status="dispatched", source="grid", unit="nanmen", department="amr",
                             report=PERSONAL, state={}, received_at=now, updated_at=now, attempt=1))
            session.add(Case(case_id="C-P2", status="gap", source="hotline", unit="nanmen",
                             department="establishment-office", report=PERSONAL, state={}, received_at=now,
                             updated_at=now, attempt=1))
        yield application


def client_of(app: FastAPI, cookie: str | None = None) -> httpx.AsyncClient:
    headers = {"Cookie": f"caseroute_console={cookie}"} if cookie else None
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers)


def hidden(html: str, name: str) -> str:
    """A hidden field of the page's form ('' when there is none: the flows below then fail on what they check)."""
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    return match.group(1) if match else ""


async def log_in(client: httpx.AsyncClient, credential: str) -> str:
    """The real login flow: the form, its token, the POST; the session cookie's value."""
    form = await client.get("/console/login")
    assert form.status_code == 200
    answer = await client.post("/console/login", headers=REAL,
                               data={"credential": credential, "login_token": hidden(form.text, "login_token")})
    assert answer.status_code == 303 and answer.headers["location"] == "/console", answer.text[:500]
    cookie = client.cookies.get("caseroute_console")
    assert cookie
    return cookie


async def test_a_revoked_operator_key_ends_its_console_session(app: FastAPI) -> None:
    db = app.state.runtime.db
    key = await keys.create_key(db, role="operator", name="li", by=ADMIN)
    async with client_of(app) as client:
        cookie = await log_in(client, key.secret)
        page = await client.get("/console/cases/C-P1")
        assert page.status_code == 200 and "楼下烧烤店深夜噪音" in page.text
        await keys.revoke_key(db, key.key_id, by=ADMIN)
        await asyncio.sleep(CACHE_S + 0.2)  # the authenticator's cache bound, as for the API
        refused = await client.get("/console/cases/C-P1")
    async with client_of(app, cookie) as again:  # the same cookie, sent anew: still refused
        refused_again = await again.get("/console")
    assert refused.status_code == 303 and refused.headers["location"] == "/console/login"
    assert "楼下烧烤店深夜噪音" not in refused.text
    assert refused_again.status_code == 303


async def test_an_expired_adjudicator_key_can_no_longer_rule_or_roll_back(app: FastAPI) -> None:
    db = app.state.runtime.db
    key = await keys.create_key(db, role="adjudicator", name="wang", by=ADMIN, expires_in=timedelta(seconds=3))
    async with client_of(app) as client:
        await log_in(client, key.secret)
        catalogue = await client.get("/console/catalogue")
        assert catalogue.status_code == 200
        csrf = hidden(catalogue.text, "csrf_token")
        await asyncio.sleep(3.2)
        version = await _first_version(app)
        rollback = await client.post(f"/console/catalogue/{version}/rollback", headers=REAL,
                                     data={"reason": "after expiry", "csrf_token": csrf})
        assert rollback.status_code == 303 and rollback.headers["location"] == "/console/login"
        assert await _versions(app) == 1  # nothing was published
        ruling = await client.post("/console/adjudications/C-P1/ruling", headers=REAL,
                                   data={"lead": "amr", "principle": "competent", "csrf_token": csrf})
    assert ruling.status_code == 303 and ruling.headers["location"] == "/console/login"


async def test_a_console_session_from_a_jwt_ends_at_the_tokens_expiry(app: FastAPI) -> None:
    async with client_of(app) as client:
        await log_in(client, credential_for("operator", "zhao", lifetime_s=2))
        assert (await client.get("/console")).status_code == 200
        await asyncio.sleep(2.3)
        assert (await client.get("/console")).status_code == 303


async def test_logout_ends_the_session_on_the_server(app: FastAPI) -> None:
    async with client_of(app) as client:
        cookie = await log_in(client, credential_for("operator", "li"))
        board = await client.get("/console")
        assert board.status_code == 200
        out = await client.post("/console/logout", headers=REAL, data={"csrf_token": hidden(board.text, "csrf_token")})
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
    async with client_of(app, cookie) as stolen:  # the cookie as it was before logout
        refused = await stolen.get("/console/cases/C-P1")
    assert refused.status_code == 303 and "楼下烧烤店深夜噪音" not in refused.text


async def test_a_form_from_another_origin_is_refused_and_the_real_form_works(app: FastAPI) -> None:
    async with client_of(app) as client:
        await log_in(client, credential_for("adjudicator", "wang"))
        page = await client.get("/console/catalogue")
        csrf = hidden(page.text, "csrf_token")
        version = await _first_version(app)
        url = f"/console/catalogue/{version}/rollback"
        forged = [
            # A page on 127.0.0.1:9916 auto-submitting the form: the browser says where it comes from.
            await client.post(url, headers=FORGED, data={"reason": "forged"}),
            await client.post(url, headers={"Origin": "http://tracker:9916"}, data={"reason": "forged"}),
            await client.post(url, headers={"Sec-Fetch-Site": "same-site"}, data={"reason": "forged",
                                                                                  "csrf_token": csrf}),
            # No browser headers at all (an old browser, a script): the token is still needed.
            await client.post(url, data={"reason": "forged"}),
            await client.post(url, headers=REAL, data={"reason": "forged", "csrf_token": "guessed"}),
        ]
        assert [f.status_code for f in forged] == [403] * 5, [f.text for f in forged]
        assert await _versions(app) == 1
        real = await client.post(url, headers=REAL, data={"reason": "the form itself", "csrf_token": csrf})
    assert real.status_code == 200 and "已回滚" in real.text
    assert await _versions(app) == 2


async def test_login_from_another_origin_or_without_the_forms_token_is_refused(app: FastAPI) -> None:
    credential = credential_for("adjudicator", "attacker")
    async with client_of(app) as client:
        form = await client.get("/console/login")
        token = hidden(form.text, "login_token")
        refused = [
            await client.post("/console/login", headers=FORGED, data={"credential": credential,
                                                                      "login_token": token}),
            await client.post("/console/login", data={"credential": credential}),
            await client.post("/console/login", data={"credential": credential, "login_token": "forged"}),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert client.cookies.get("caseroute_console") is None
    async with client_of(app) as other:  # a token is bound to the browser it was given to (its nonce cookie)
        stolen = await other.post("/console/login", data={"credential": credential, "login_token": token})
    assert stolen.status_code == 403 and "caseroute_console=" not in stolen.headers.get("set-cookie", "")


async def test_console_pages_carry_security_headers_and_personal_reads_are_audited(app: FastAPI) -> None:
    async with client_of(app) as client:
        login = await client.get("/console/login")
        await log_in(client, credential_for("operator", "li"))
        pages = [login, await client.get("/console"), await client.get("/console/cases/C-P1"),
                 await client.get("/console/adjudications"),
                 await client.post("/console/catalogue/x/rollback", data={"reason": "x"})]  # a 403 problem
        async with client_of(app) as anonymous:
            pages.append(await anonymous.get("/console/figures"))  # the redirect to login
    assert [p.status_code for p in pages] == [200, 200, 200, 200, 403, 303]
    for answer in pages:
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    async with app.state.runtime.db.sessions() as session:
        rows = (await session.execute(select(TrackerAudit).where(TrackerAudit.action == "case.read_personal"))
                ).scalars().all()
    # The case page and the adjudication queue (which shows the report whole) are both audited.
    assert sorted((r.actor, r.target, r.detail["fields"], r.detail["via"]) for r in rows) == [
        ("operator:li", "C-P1", ["reporter_name", "reporter_phone"], "console"),
        ("operator:li", "C-P2", ["reporter_name", "reporter_phone"], "console")]


async def _first_version(app: FastAPI) -> str:
    async with app.state.runtime.db.sessions() as session:
        version = await session.scalar(select(CatalogueVersion.version).order_by(CatalogueVersion.id).limit(1))
    assert version
    return version


async def _versions(app: FastAPI) -> int:
    async with app.state.runtime.db.sessions() as session:
        return len((await session.execute(select(CatalogueVersion.id))).all())
