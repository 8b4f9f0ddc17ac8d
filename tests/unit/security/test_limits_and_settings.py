"""Rate limits per key (429 with Retry-After), CORS closed by default, secrets from files, TLS client options."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from intake.bootstrap import build as intake
from services.auth.ratelimit import TokenBuckets
from services.bus.kafka import client_options
from services.db import postgres_tls
from services.principal import Caller
from services.runtime import Runtime
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import auth_headers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_refill_at_the_rate_and_keep_keys_apart() -> None:
    clock = Clock()
    buckets = TokenBuckets(AuthSettings(rate_limits={"grid-app": 2.0, "default": 0.0}, rate_burst_s=2.0), clock)
    app_a, app_b = Caller("grid-app", "a", key="key:a"), Caller("grid-app", "b", key="key:b")
    assert [buckets.take(app_a) for _ in range(4)] == [None] * 4  # a burst of rate × burst_s
    wait = buckets.take(app_a)
    assert wait is not None and 0.4 < wait <= 0.5
    assert buckets.take(app_b) is None, "another key has its own budget"
    assert buckets.take(Caller("operator", "o")) is None, "0 means unlimited"
    clock.now += 0.5
    assert buckets.take(app_a) is None and buckets.take(app_a) is not None
    special = Caller("grid-app", "c", key="key:c", rate_limit=10.0)  # a key's own rate wins over the role's
    assert sum(buckets.take(special) is None for _ in range(30)) == 20


async def test_intake_answers_429_with_retry_after_beyond_the_budget(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka=KafkaSettings(bootstrap=None),
                        auth=AuthSettings(rate_limits={"default": 1.0}, rate_burst_s=3.0))
    async with running(settings, [intake]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            answers = [await client.post("/v1/reports", json={**dev_reports()[0], "external_id": f"RL-{i}"},
                                         headers=auth_headers("grid-app", "busy")) for i in range(5)]
            other = await client.post("/v1/reports", json=dev_reports()[1], headers=auth_headers("grid-app", "calm"))
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert answers[3].headers["retry-after"] == "1"
    assert answers[3].headers["content-type"] == "application/problem+json"
    assert other.status_code == 202


async def test_cors_is_closed_by_default_and_open_only_to_listed_origins(tmp_path: Path) -> None:
    preflight = {"Origin": "https://console.city.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    answers = []
    for origins in ([], ["https://console.city.example"]):
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / f'c{len(origins)}.db'}",
                            kafka=KafkaSettings(bootstrap=None), cors_origins=origins)
        async with running(settings, [intake]) as app:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                answers.append(await client.options("/v1/reports", headers=preflight))
                evil = {**preflight, "Origin": "https://evil.example"}
                answers.append(await client.options("/v1/reports", headers=evil))
    closed, closed_evil, open_, open_evil = answers
    allowed = "access-control-allow-origin"
    assert allowed not in closed.headers and allowed not in closed_evil.headers
    assert open_.headers["access-control-allow-origin"] == "https://console.city.example"
    assert "access-control-allow-origin" not in open_evil.headers


def test_secrets_come_from_files_named_by_file_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jwt").write_text("from-a-file-0123456789\n")
    (tmp_path / "kafka").write_text("kafka-pass")
    (tmp_path / "db").write_text("postgresql+asyncpg://u:pw@db:5432/caseroute")
    monkeypatch.setenv("CASEROUTE_AUTH_JWT_HS_SECRET_FILE", str(tmp_path / "jwt"))
    monkeypatch.delenv("CASEROUTE_AUTH_JWT_HS_SECRET")
    monkeypatch.setenv("CASEROUTE_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "kafka"))
    monkeypatch.setenv("CASEROUTE_DATABASE_URL_FILE", str(tmp_path / "db"))
    monkeypatch.delenv("CASEROUTE_DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.auth.jwt_hs_secret is not None
    assert settings.auth.jwt_hs_secret.get_secret_value() == "from-a-file-0123456789"
    assert settings.kafka.sasl_password is not None and settings.kafka.sasl_password.get_secret_value() == "kafka-pass"
    assert settings.database_url.endswith("@db:5432/caseroute")
    assert "from-a-file" not in repr(settings), "secrets do not show in reprs or logs"


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caseroute-client")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "client.pem", tmp_path / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_kafka_clients_take_sasl_ssl_and_mutual_tls(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    plain = client_options(KafkaSettings(bootstrap="k:9092"))
    assert plain["security_protocol"] == "PLAINTEXT" and "ssl_context" not in plain
    sasl = client_options(KafkaSettings(bootstrap="k:9093", security_protocol="SASL_SSL",
                                        sasl_mechanism="SCRAM-SHA-512", sasl_username="caseroute", sasl_password="pw",  # type: ignore[arg-type]
                                        ssl_cafile=cert))
    assert (sasl["security_protocol"], sasl["sasl_mechanism"], sasl["sasl_plain_username"],
            sasl["sasl_plain_password"]) == ("SASL_SSL", "SCRAM-SHA-512", "caseroute", "pw")
    context = sasl["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs()[0]["subject"] == ((("commonName", "caseroute-client"),),)
    mutual = client_options(KafkaSettings(bootstrap="k:9093", security_protocol="SSL", ssl_cafile=cert,
                                          ssl_certfile=cert, ssl_keyfile=key))
    assert isinstance(mutual["ssl_context"], ssl.SSLContext)
    with pytest.raises(ssl.SSLError):  # the client certificate is really loaded: a wrong key is refused
        client_options(KafkaSettings(bootstrap="k:9093", security_protocol="SSL", ssl_certfile=cert,
                                     ssl_keyfile=_other_key(tmp_path)))


def _other_key(tmp_path: Path) -> Path:
    other = tmp_path / "other"
    other.mkdir(exist_ok=True)
    return _certificate(other)[1]


def test_postgres_tls_follows_libpq_sslmodes(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    assert postgres_tls(None) is None and postgres_tls("disable") is False
    assert postgres_tls("require") == "require"
    full = postgres_tls("verify-full", cert)
    assert isinstance(full, ssl.SSLContext) and full.check_hostname and full.verify_mode == ssl.CERT_REQUIRED
    ca_only = postgres_tls("verify-ca", cert, cert, key)
    assert isinstance(ca_only, ssl.SSLContext) and not ca_only.check_hostname
    assert ca_only.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ValueError):
        postgres_tls("sometimes")
    settings = Settings(database_url="postgresql+asyncpg://u@db/caseroute", database_sslmode="verify-full",
                        database_sslrootcert=cert, kafka=KafkaSettings(bootstrap=None))
    runtime = Runtime.create(settings)
    assert isinstance(runtime.db.tls, ssl.SSLContext) and runtime.db.tls.check_hostname
