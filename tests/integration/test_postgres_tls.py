"""PostgreSQL over TLS for real: the server is switched to TLS with a certificate made here, and a Database
built from CASEROUTE_DATABASE_SSLMODE=verify-full and the CA file connects encrypted, checking the name."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.runtime import Runtime
from services.settings import KafkaSettings, Settings

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


def _pem(tmp_path: Path, name: str, host: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `host`, signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


async def _superuser(postgres_url: str) -> asyncpg.Connection:
    """A connection allowed to change the server's settings: the URL's own role, or the cluster's `postgres`
    (the local test cluster trusts loopback connections; its application role is deliberately no superuser)."""
    url = make_url(postgres_url).set(drivername="postgresql")
    for candidate in (url, url.set(username="postgres", password=None)):
        try:
            conn = await asyncpg.connect(candidate.render_as_string(hide_password=False))
        except (OSError, asyncpg.PostgresError):
            continue
        if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            return conn
        await conn.close()
    pytest.fail("this test switches the server's TLS on: it needs a superuser (the URL's role or `postgres`)")


@pytest.fixture
async def tls_server(postgres_url: str) -> AsyncIterator[Path]:
    """Turns TLS on in the test server (reloaded, no restart) for the test; off again afterwards."""
    host = make_url(postgres_url).host or "127.0.0.1"
    conn = await _superuser(postgres_url)
    where = Path(tempfile.mkdtemp(prefix="caseroute-pg-tls-"))
    try:
        # The server process must read the key: a folder it can enter, files owned by its user.
        where.chmod(0o755)
        ca, cert, key = _pem(where, "caseroute", host)
        server_uid = Path(await conn.fetchval("SHOW data_directory")).stat().st_uid
        if os.geteuid() != server_uid:
            for path in (cert, key):
                os.chown(path, server_uid, -1)
        await conn.execute(f"ALTER SYSTEM SET ssl_cert_file = '{cert}'")
        await conn.execute(f"ALTER SYSTEM SET ssl_key_file = '{key}'")
        await conn.execute("ALTER SYSTEM SET ssl = on")
        await conn.execute("SELECT pg_reload_conf()")
        yield ca
    finally:
        for setting in ("ssl", "ssl_cert_file", "ssl_key_file"):
            await conn.execute(f"ALTER SYSTEM RESET {setting}")
        await conn.execute("SELECT pg_reload_conf()")
        await conn.close()
        shutil.rmtree(where, ignore_errors=True)


async def test_the_database_connects_over_verified_tls(tls_server: Path, postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=postgres_url, database_sslmode="verify-full", database_sslrootcert=tls_server,
                        kafka=KafkaSettings(bootstrap=None))
    runtime = Runtime.create(settings)
    try:
        async with runtime.db.engine.connect() as conn:
            encrypted = (await conn.execute(text(
                "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).one()
    finally:
        await runtime.db.dispose()
    assert encrypted.ssl is True and encrypted.version.startswith("TLS")
    plain = Runtime.create(settings.model_copy(update={"database_sslmode": "disable"}))
    try:
        async with plain.db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).scalar() \
                is False, "the mode is honoured: disable really connects in the clear"
    finally:
        await plain.db.dispose()
    stranger = _pem(tmp_path, "stranger", "127.0.0.1")[0]  # a CA that did not sign the server's certificate
    wrong_ca = Runtime.create(settings.model_copy(update={"database_sslrootcert": stranger}))
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            async with wrong_ca.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await wrong_ca.db.dispose()
