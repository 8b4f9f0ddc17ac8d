"""The one settings object: every knob comes from CASEROUTE_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class KafkaSettings(BaseSettings):
    """Kafka client settings; TLS and SASL are optional for sites that need them."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_KAFKA_", extra="ignore")

    bootstrap: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    send_timeout_s: float = 10.0
    request_timeout_ms: int = 15_000
    partitions: int = 4
    replication_factor: int = 1
    linger_ms: int = 5
    max_poll_records: int = 500


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


class Settings(BaseSettings):
    """Process settings shared by every service; `kafka.bootstrap` unset means the in-process bus."""

    model_config = SettingsConfigDict(
        env_prefix="CASEROUTE_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    service: str = "caseroute"
    database_url: str = Field(default=f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'caseroute.db'}")
    database_pool_size: int = 10
    topic_prefix: str = "caseroute."
    http_host: str = "127.0.0.1"
    http_port: int = 8080
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
    admin_token: SecretStr | None = None
    console_secret: SecretStr | None = None  # signs the console's session cookie; unset: a key per process
    otlp_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://otel-collector:4318; unset: no tracing
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    notifier: NotifierSettings = Field(default_factory=NotifierSettings)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build their own `Settings(...)` instead."""
    return Settings()
