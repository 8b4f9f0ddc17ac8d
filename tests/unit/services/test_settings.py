"""Settings: one object, read from CASEROUTE_* variables."""

from __future__ import annotations

import pytest

from services.settings import Settings


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEROUTE_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("CASEROUTE_DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.embedded_bus
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_environment_configures_kafka_database_and_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEROUTE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    monkeypatch.setenv("CASEROUTE_DATABASE_URL", "postgresql+asyncpg://u@h:5432/db")
    monkeypatch.setenv("CASEROUTE_TOPIC_PREFIX", "city.")
    monkeypatch.setenv("CASEROUTE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    settings = Settings()
    assert not settings.embedded_bus
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.database_url.endswith("/db")
    assert settings.topic("reports.v1") == "city.reports.v1"
    assert settings.dispatch_topic("amr") == "city.dispatch.amr.v1"
