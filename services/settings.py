"""The one settings object: every knob comes from CASEROUTE_* environment variables (or a .env file)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from services.netguard import IPNetwork

REPO_ROOT = Path(__file__).resolve().parent.parent
# A department's code as topic names carry it (the catalogue's codes, per-unit ones bound: police-nanmen).
DEPARTMENT_CODE = r"[a-z0-9][a-z0-9-]*"


class FileSecrets(BaseSettings):
    """Any setting may come from a file instead: `<VARIABLE>_FILE=/run/secrets/x` (Kubernetes/Docker secrets).

    Secrets are read from the environment or from files only, never from code or the command line.
    """

    @model_validator(mode="before")
    @classmethod
    def _from_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        prefix = str(cls.model_config.get("env_prefix") or "").upper()
        for name in cls.model_fields:
            path = os.environ.get(f"{prefix}{name.upper()}_FILE")
            if path and name not in data:
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        return data


class KafkaSettings(FileSecrets):
    """Kafka client settings; TLS and SASL are optional for sites that need them."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_KAFKA_", extra="ignore")

    bootstrap: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None  # client certificate (mutual TLS)
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    send_timeout_s: float = 10.0
    request_timeout_ms: int = 15_000
    partitions: int = 4
    replication_factor: int = 1
    linger_ms: int = 5
    max_poll_records: int = 500


class AuthSettings(FileSecrets):
    """Who may call the APIs (CASEROUTE_AUTH_*): API keys in the database, or JWTs of an identity provider."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_AUTH_", extra="ignore")

    cache_s: float = 5.0  # a verified credential is trusted this long: the bound on revocation taking effect
    jwt_issuer: str | None = None  # JWTs are accepted only when an issuer is configured
    jwt_audience: str | None = None
    jwt_jwks_url: str | None = None
    jwt_public_key: SecretStr | None = None  # PEM, for a provider without JWKS
    jwt_hs_secret: SecretStr | None = None  # shared secret (HS256), for small sites and tests
    jwt_role_claim: str = "caseroute_role"
    jwt_name_claim: str = "caseroute_name"
    jwt_leeway_s: float = 30.0
    jwks_cache_s: float = 300.0
    # Requests per second per key at intake, by role ("default" for the others); a burst of burst_s seconds.
    rate_limits: dict[str, float] = Field(default_factory=lambda: {"default": 100.0})
    rate_burst_s: float = 2.0
    bootstrap_admin_file: Path | None = None  # `caseroute run`: first start writes an admin key here


class NotifierSettings(BaseSettings):
    """Webhook delivery knobs of the notifier (CASEROUTE_NOTIFIER_*); defaults suit production."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_NOTIFIER_", extra="ignore")

    horizon_s: float = 24 * 3600.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 3600.0
    concurrency: int = 64
    claim_batch: int = 256
    lease_s: float = 60.0
    http_timeout_s: float = 10.0
    poll_s: float = 0.5
    sse_heartbeat_s: float = 15.0
    # After a webhook secret is rotated the previous one signs too for this long (WEBHOOKS.md, "Rotating").
    rotation_overlap_s: float = Field(default=24 * 3600.0, ge=0)


class Settings(FileSecrets):
    """Process settings shared by every service; `kafka.bootstrap` unset means the in-process bus."""

    model_config = SettingsConfigDict(
        env_prefix="CASEROUTE_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    service: str = "caseroute"
    database_url: str = Field(default=f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'caseroute.db'}")
    database_pool_size: int = 10
    database_sslmode: str | None = None  # disable | require | verify-ca | verify-full (PostgreSQL TLS)
    database_sslrootcert: Path | None = None
    database_sslcert: Path | None = None
    database_sslkey: Path | None = None
    topic_prefix: str = "caseroute."
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Several processes of one service on one port (SO_REUSEPORT; the kernel spreads the connections): how
    # intake uses more than one core on one host. Off by default, so a second copy by mistake fails loudly.
    http_reuse_port: bool = False
    public_base_url: str = "http://127.0.0.1:8080"
    catalogue: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 256 * 1024
    outbox_batch: int = 500
    outbox_idle_s: float = 0.005
    consumer_retries: int = 3
    consumer_stall_s: float = 60.0
    sla_scan_s: float = 5.0
    sla_clock_offset_s: float = 0.0  # drills and tests: the SLA clock runs this far ahead of the wall clock
    sla_working_days: bool = False
    sla_holidays_file: Path | None = None  # JSON {"holidays": [dates], "makeup_days": [dates]}
    figures_refresh_s: float = 15.0
    cors_origins: list[str] = Field(default_factory=list)  # closed by default: no browser origin may call
    pii_retention_days: float | None = None  # personal fields of cases closed longer ago are purged; unset: kept
    pii_purge_interval_s: float = 3600.0
    console_secret: SecretStr | None = None  # signs the console's session cookie; unset: a key per process
    otlp_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://otel-collector:4318; unset: no tracing
    # Callbacks and webhooks go to public addresses only (services/netguard.py). Networks listed here are let
    # through anyway: for tests and a local demo whose receivers are on 127.0.0.1, e.g. '["127.0.0.0/8"]'.
    outbound_allow_networks: list[str] = Field(default_factory=list)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    notifier: NotifierSettings = Field(default_factory=NotifierSettings)

    @model_validator(mode="after")
    def _networks(self) -> Settings:
        from services.netguard import networks

        networks(self.outbound_allow_networks)  # a malformed entry fails at start, not at the first delivery
        return self

    @property
    def outbound_networks(self) -> tuple[IPNetwork, ...]:
        from services.netguard import networks

        return networks(self.outbound_allow_networks)

    @property
    def embedded_bus(self) -> bool:
        return not self.kafka.bootstrap

    def topic(self, name: str) -> str:
        """Full topic name for a short name such as `reports.v1`."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """Consumer group id under the topic prefix, so two deployments on one cluster never share a group."""
        return f"{self.topic_prefix}{name}"

    def dispatch_topic(self, department: str) -> str:
        return self.topic(f"dispatch.{department}.v1")

    def reply_topic(self, department: str) -> str:
        """The one topic a department's system answers on; its Kafka user may write no other reply topic."""
        return self.topic(f"replies.{department}.v1")

    @property
    def reply_topics_pattern(self) -> str:
        """Every department's reply topic, and the retired shared `replies.v1` (so what still comes there is
        dead-lettered with a reason instead of lying unread); never their `.dlq` topics."""
        return rf"{re.escape(self.topic_prefix)}replies\.(?:{DEPARTMENT_CODE}\.)?v1$"

    def reply_department(self, topic: str) -> str | None:
        """The department a reply topic belongs to; None for any other topic (the retired replies.v1)."""
        found = re.fullmatch(rf"{re.escape(self.topic_prefix)}replies\.({DEPARTMENT_CODE})\.v1", topic)
        return found.group(1) if found else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build their own `Settings(...)` instead."""
    return Settings()
