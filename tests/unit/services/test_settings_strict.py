"""Settings refuse names they do not know: a misspelt keyword, CASEROUTE_* variable or .env key stops the
process with the closest known name, instead of being silently dropped; and nothing the project itself
sets or documents is refused."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from services.settings import NOT_SETTINGS, KafkaSettings, Settings, UnknownSettings
from tests.conftest import REPO

VARIABLE = re.compile(r"CASEROUTE_[A-Za-z0-9_]*")


def test_a_misspelt_keyword_is_refused_with_the_closest_name() -> None:
    suggested = r"'topic_prefx' is not a setting of Settings: did you mean topic_prefix\?"
    with pytest.raises(UnknownSettings, match=suggested):
        Settings(topic_prefx="city.", _env_file=None)  # type: ignore[call-arg]
    suggested = r"'bootstrp' is not a setting of KafkaSettings: did you mean bootstrap\?"
    with pytest.raises(UnknownSettings, match=suggested):
        KafkaSettings(bootstrp="127.0.0.1:9092")  # type: ignore[call-arg]


def test_a_copy_with_a_misspelt_setting_is_refused() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.model_copy(update={"http_port": 8081}).http_port == 8081
    with pytest.raises(UnknownSettings, match=r"'http_prot' is not a setting of Settings: did you mean http_port\?"):
        settings.model_copy(update={"http_prot": 8081})


def test_a_derived_property_cannot_be_passed_as_a_setting() -> None:
    # Settings(embedded_bus=True) used to be accepted and dropped: the process then ran on Kafka regardless.
    with pytest.raises(UnknownSettings, match="'embedded_bus' of Settings is derived from other settings"):
        Settings(embedded_bus=True, _env_file=None)  # type: ignore[call-arg]


def test_a_misspelt_environment_variable_stops_start_up_naming_the_closest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEROUTE_KAFKA_BOOTSTAP", "127.0.0.1:9092")
    monkeypatch.setenv("CASEROUTE_NOTIFIER_CONCURENCY", "8")
    with pytest.raises(UnknownSettings) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(refused.value)
    assert "CASEROUTE_KAFKA_BOOTSTAP in the environment: did you mean CASEROUTE_KAFKA_BOOTSTRAP?" in message
    assert "CASEROUTE_NOTIFIER_CONCURENCY in the environment: did you mean CASEROUTE_NOTIFIER_CONCURRENCY?" in message


def test_a_misspelt_dotenv_key_stops_start_up_naming_the_file_and_the_closest(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CASEROUTE_TOPIC_PREFXI=city.\nCOMPOSE_PROJECT_NAME=other-tools-keys-are-not-ours\n")
    with pytest.raises(UnknownSettings) as refused:
        Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert f"CASEROUTE_TOPIC_PREFXI in {env_file}: did you mean CASEROUTE_TOPIC_PREFIX?" in str(refused.value)
    assert "COMPOSE_PROJECT_NAME" not in str(refused.value)


def test_dotenv_sets_nested_settings_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the top-level Settings read .env: CASEROUTE_KAFKA_BOOTSTRAP there was ignored and the services ran
    # on the in-process bus.
    monkeypatch.delenv("CASEROUTE_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CASEROUTE_KAFKA_BOOTSTRAP=kafka.example.test:9092\nCASEROUTE_NOTIFIER_LEASE_S=7\n")
    settings = Settings()
    assert settings.kafka.bootstrap == "kafka.example.test:9092" and not settings.embedded_bus
    assert settings.notifier.lease_s == 7


def test_every_known_spelling_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "poll").write_text("0.25\n")
    (tmp_path / "dsn").write_text("postgresql+asyncpg://u@db.example.test/caseroute\n")
    for name in NOT_SETTINGS:  # read by the project's scripts, not by Settings
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("CASEROUTE_KAFKA__PARTITIONS", "2")  # through the parent, nested delimiter
    monkeypatch.setenv("CASEROUTE_AUTH__RATE_LIMITS__POLICE", "20")  # a key of a dictionary setting
    monkeypatch.setenv("caseroute_log_level", "DEBUG")  # names are case-insensitive, as pydantic-settings reads them
    monkeypatch.delenv("CASEROUTE_DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text(f"CASEROUTE_NOTIFIER_POLL_S_FILE={tmp_path / 'poll'}\n"
                                   f"CASEROUTE_DATABASE_URL_FILE={tmp_path / 'dsn'}\n")
    settings = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert settings.kafka.partitions == 2 and settings.auth.rate_limits["police"] == 20.0
    assert settings.log_level == "DEBUG"
    assert settings.database_url == "postgresql+asyncpg://u@db.example.test/caseroute"
    monkeypatch.chdir(tmp_path)  # the notifier group reads ./.env
    assert Settings().notifier.poll_s == 0.25


def test_the_command_prints_the_refusal_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CASEROUTE_HTTP_PROT": "8081"}
    done = subprocess.run([sys.executable, "-m", "caseroute.cli", "router"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "CASEROUTE_HTTP_PROT in the environment: did you mean CASEROUTE_HTTP_PORT?" in done.stderr
    assert "Traceback" not in done.stderr


def _named_in(path: Path) -> set[str]:
    """CASEROUTE_* names in a file; in Python only those in string literals (a constant may be so named)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return set(VARIABLE.findall(text))
    strings = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.STRING]
    return {name for s in strings for name in VARIABLE.findall(s)}


def _project_files() -> list[Path]:
    named = [REPO / "Dockerfile", REPO / "docker-compose.yml", REPO / "Makefile", REPO / "README.md"]
    trees = ["deploy", ".ci", "docs", "caseroute", "catalogue", "services", "intake", "router", "tracker", "notifier",
             "bench", "tests"]
    found = [p for tree in trees for p in (REPO / tree).rglob("*")
             if p.is_file() and p.suffix in {".py", ".sh", ".yaml", ".yml", ".md", ".env", ""}]
    return named + [p for p in found if "__pycache__" not in p.parts]


def test_every_variable_the_project_sets_or_documents_is_known() -> None:
    # Deployment files (k8s config maps, compose, Dockerfile, deploy/local scripts), the docs and the code's own
    # environments (tests and bench start services with env dicts): none may be refused at start-up.
    known = Settings.variables() | NOT_SETTINGS.keys()
    keyed = tuple(Settings.keyed_variables())
    misspelt = {"CASEROUTE_KAFKA_BOOTSTAP", "CASEROUTE_NOTIFIER_CONCURENCY", "CASEROUTE_TOPIC_PREFXI",
                "CASEROUTE_HTTP_PROT"}  # this file's own examples of what is refused
    unknown: dict[str, list[str]] = {}
    files = _project_files()
    assert {"config.yaml", "docker-compose.yml", "Dockerfile", "stack.sh", "up.sh"} <= {p.name for p in files}
    for path in files:
        for name in _named_in(path) - misspelt:
            family = name.endswith("_")  # CASEROUTE_AUTH_* in prose, f"CASEROUTE_KAFKA_{name}" in code
            if not (name in known or name.startswith(keyed) or (family and any(k.startswith(name) for k in known))):
                unknown.setdefault(name, []).append(str(path.relative_to(REPO)))
    assert not unknown, unknown
