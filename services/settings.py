"""The one settings object: every knob comes from CASEROUTE_* environment variables (or a .env file)."""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from services.paths import REPO_ROOT

if TYPE_CHECKING:
    from services.netguard import IPNetwork

# A department's code as topic names carry it (the catalogue's codes, per-unit ones bound: police-nanmen).
DEPARTMENT_CODE = r"[a-z0-9][a-z0-9-]*"


# CASEROUTE_* variables that are not settings but that the project's own tools read. Every other CASEROUTE_*
# name in the environment or .env must be a setting (or its `_FILE`): a misspelt one stops the process at
# start-up instead of being ignored. A new variable for a script is added here, not by loosening the check.
NOT_SETTINGS: dict[str, str] = {
    "CASEROUTE_VAR": "deploy/local/*.sh, the Makefile: where local Kafka, PostgreSQL and the stack keep state",
    "CASEROUTE_CACHE": "deploy/local/lib.sh: the fetched Kafka jars",
    "CASEROUTE_MAVEN_ARGS": "deploy/local/lib.sh: extra mvn arguments for the Kafka fetch",
    "CASEROUTE_CJK_FONT": "tracker/statement_files.py: the CJK font of the PDF statement",
    "CASEROUTE_API_KEY": "caseroute CLI commands that call an API (their --key)",
    "CASEROUTE_KEY": "caseroute catalogue suggestions --tracker (its --key)",
    "CASEROUTE_TRACKER_URL": "caseroute CLI commands that read the tracker's API (report, catalogue diff: --tracker)",
    "CASEROUTE_BENCH_PROFILE_NATIVE": "bench/e2e_bench.py --profile",
    "CASEROUTE_RELIABILITY_REPORTS": "tests/reliability/test_service_kills.py: its load",
    "CASEROUTE_ROUTER_SOURCES": "router/native.py: =1 runs the router from its Python sources, not its build",
}
_PREFIX = "CASEROUTE_"


class UnknownSettings(ValueError):
    """A keyword, environment variable or .env key that names no setting: refused, never silently dropped."""


def _closest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f": did you mean {close[0]}?" if close else ": no setting has a similar name (README, Configuration)"


def _group(field: FieldInfo) -> type[FileSecrets] | None:
    """The settings group a field holds (Settings.kafka → KafkaSettings), else None."""
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, FileSecrets) else None


class FileSecrets(BaseSettings):
    """Base of every settings group: unknown names are refused, and any setting may come from a file instead,
    `<VARIABLE>_FILE=/run/secrets/x` (Kubernetes/Docker secrets), in the environment or .env.

    Secrets are read from the environment or from files only, never from code or the command line.
    """

    # Every group reads .env itself, so a nested setting there (CASEROUTE_KAFKA_BOOTSTRAP) takes effect;
    # "only_existing": a .env key is taken when it names a field, and _RefuseUnknown judges the others.
    model_config = SettingsConfigDict(extra="forbid", env_file=".env", dotenv_filtering="only_existing")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(env_settings, EnvSettingsSource) and isinstance(dotenv_settings, DotEnvSettingsSource)
        # First the check (before anything reads a file), last the `_FILE` variants: the variable itself wins.
        return (_RefuseUnknown(settings_cls, init_settings, dotenv_settings), init_settings, env_settings,
                dotenv_settings, file_secret_settings, _FromFiles(settings_cls, env_settings, dotenv_settings))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with some settings changed; a name that is no setting is refused here too (pydantic would set
        it as a stray attribute that nothing reads)."""
        problems = [_not_a_field(type(self), key) for key in (update or {}) if key not in type(self).model_fields]
        if problems:
            raise UnknownSettings("unknown settings: " + "; ".join(problems))
        return super().model_copy(update=update, deep=deep)

    @classmethod
    def variables(cls) -> frozenset[str]:
        """Every environment variable (upper case) that sets something in this group, `_FILE` variants included."""
        prefix = str(cls.model_config.get("env_prefix") or "").upper()
        delimiter = cls.model_config.get("env_nested_delimiter")
        names: set[str] = set()
        for name, field in cls.model_fields.items():
            variable = f"{prefix}{name.upper()}"
            names.add(variable)
            group = _group(field)
            if group is None:
                names.add(f"{variable}_FILE")
                continue
            names |= group.variables()  # its own prefix: CASEROUTE_KAFKA_BOOTSTRAP
            if delimiter:  # and through the parent: CASEROUTE_KAFKA__BOOTSTRAP
                names |= {f"{variable}{delimiter}{sub.upper()}" for sub in group.model_fields}
        return frozenset(names)

    @classmethod
    def keyed_variables(cls) -> frozenset[str]:
        """Variables under which any key may follow: dictionary settings reached through the nested delimiter
        (CASEROUTE_AUTH__RATE_LIMITS__POLICE=20)."""
        delimiter = cls.model_config.get("env_nested_delimiter")
        prefix = str(cls.model_config.get("env_prefix") or "").upper()
        if not delimiter:
            return frozenset()
        names = set()
        for name, field in cls.model_fields.items():
            group = _group(field)
            for sub, inner in (group.model_fields.items() if group else ()):
                if typing.get_origin(inner.annotation) is dict:
                    names.add(f"{prefix}{name.upper()}{delimiter}{sub.upper()}{delimiter}")
        return frozenset(names)


class _RefuseUnknown(PydanticBaseSettingsSource):
    """Refuses keywords that name no field; for the top-level Settings also CASEROUTE_* variables in the
    environment and .env that name no setting (and are not in NOT_SETTINGS). Contributes no values."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource,
                 dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.init, self.dotenv = init, dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        keywords = getattr(self.init, "init_kwargs", {})
        problems = [_not_a_field(self.settings_cls, key) for key in keywords if key not in fields]
        if self.settings_cls is Settings:
            problems += unknown_variables(os.environ, "the environment")
            problems += unknown_variables(self.dotenv.env_vars, _env_files(self.dotenv.env_file))
        if problems:
            raise UnknownSettings("unknown settings (a misspelt name would otherwise be ignored):\n  "
                                  + "\n  ".join(problems))
        return {}


def _not_a_field(settings_cls: type[BaseSettings], key: str) -> str:
    if isinstance(getattr(settings_cls, key, None), property):  # e.g. embedded_bus: kafka.bootstrap unset
        return f"{key!r} of {settings_cls.__name__} is derived from other settings and cannot be set"
    return f"{key!r} is not a setting of {settings_cls.__name__}{_closest(key, settings_cls.model_fields)}"


def _env_files(env_file: Any) -> str:
    """The .env file(s) the settings read, for a message."""
    files = [env_file] if isinstance(env_file, (str, os.PathLike)) else list(env_file or ())
    return " or ".join(str(Path(f).expanduser().resolve()) for f in files)


def unknown_variables(variables: Mapping[str, Any], where: str) -> list[str]:
    """One line per CASEROUTE_* name among `variables` that sets nothing, with the closest known name."""
    known = Settings.variables() | NOT_SETTINGS.keys()
    keyed = Settings.keyed_variables()
    problems = []
    for name in sorted(variables):
        upper = name.upper()
        if upper.startswith(_PREFIX) and upper not in known and not upper.startswith(tuple(keyed)):
            problems.append(f"{upper} in {where}{_closest(upper, known)}")
    return problems


class _FromFiles(PydanticBaseSettingsSource):
    """`<VARIABLE>_FILE`: the setting is that file's content, from the environment or .env (environment first)."""

    def __init__(self, settings_cls: type[BaseSettings], *sources: EnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.sources = sources

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix") or "").lower()
        data: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            paths = [s.env_vars.get(f"{prefix}{name}_file") for s in self.sources]
            path = next((p for p in paths if p), None)
            if path and _group(field) is None:
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        return data


class KafkaSettings(FileSecrets):
    """Kafka client settings; TLS and SASL are optional for sites that need them."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_KAFKA_")

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
    # How long the broker holds a consumer's fetch while nothing is there. Raising it to 5,000 cut an idle
    # broker's CPU by about a third, but doubled the router→tracker hop's latency at 200 reports/s (p50 93-130
    # → 206-211 ms, p99 197-268 → 616-870 ms, bench/results/e2e_round3_back_to_back.json): kept at aiokafka's 500.
    fetch_max_wait_ms: int = 500


class AuthSettings(FileSecrets):
    """Who may call the APIs (CASEROUTE_AUTH_*): API keys in the database, or JWTs of an identity provider."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_AUTH_")

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


class NotifierSettings(FileSecrets):
    """Webhook delivery knobs of the notifier (CASEROUTE_NOTIFIER_*); defaults suit production."""

    model_config = SettingsConfigDict(env_prefix="CASEROUTE_NOTIFIER_")

    horizon_s: float = 24 * 3600.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 3600.0
    concurrency: int = 64
    claim_batch: int = 256
    lease_s: float = 60.0
    http_timeout_s: float = 10.0
    poll_s: float = 0.5
    sse_heartbeat_s: float = 15.0
    # How often every replica reads the subscriptions again to choose the dispatch topics it reads (WEBHOOKS.md).
    topics_reconcile_s: float = Field(default=5.0, gt=0)
    # After a webhook secret is rotated the previous one signs too for this long (WEBHOOKS.md, "Rotating").
    rotation_overlap_s: float = Field(default=24 * 3600.0, ge=0)


class Settings(FileSecrets):
    """Process settings shared by every service; `kafka.bootstrap` unset means the in-process bus."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, env_nested_delimiter="__")

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
    # The jurisdiction_id Open311 clients may send; unset: the catalogue version's prefix (haishu-2026.01.1 → haishu).
    open311_jurisdiction: str | None = None
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
    # How often the tracker looks whether last month's statement went out (it goes on the 1st, once).
    statement_check_s: float = 300.0
    statement_enabled: bool = True
    scorecard_refresh_s: float = 300.0  # the department scorecard gauges: a month of records, read every 5 min
    cors_origins: list[str] = Field(default_factory=list)  # closed by default: no browser origin may call
    pii_retention_days: float | None = None  # personal fields of cases closed longer ago are purged; unset: kept
    pii_purge_interval_s: float = 3600.0
    console_secret: SecretStr | None = None  # signs the console's session cookie; unset: a key per process
    # A map tile layer under the console's heat map, e.g. https://tiles.example.org/{z}/{x}/{y}.png (its origin
    # is then allowed as an image source on that page only); unset: the page draws the density alone, fetching
    # nothing from anywhere.
    console_tile_url: str | None = Field(default=None, pattern=r"^https?://[A-Za-z0-9.\-]+(:\d+)?/\S*\{z\}\S*$")
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
