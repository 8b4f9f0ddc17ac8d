"""deploy/k8s parses, and every Deployment has probes, resources, settings, a Service and a scaling rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
SERVICES = {"intake", "router", "tracker", "notifier"}


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def test_kustomization_lists_every_manifest_but_the_strimzi_ones() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    strimzi = {"strimzi-topics.yaml", "strimzi-departments.yaml"}  # applied in the Kafka namespace
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", *strimzi}


def test_every_deployment_has_probes_resources_settings_and_a_service() -> None:
    deployments, services = of_kind("Deployment"), of_kind("Service")
    assert set(deployments) == SERVICES
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        assert container["args"] == [name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert "memory" in container["resources"]["limits"], name
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"caseroute-config", "caseroute-secrets"}
        service = services[name]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_consumers_scale_on_the_lag_of_the_groups_the_code_uses() -> None:
    code = "".join((REPO / s / "bootstrap.py").read_text() + (REPO / s / "consumers.py").read_text()
                   for s in ("router", "tracker", "notifier"))
    scaled = of_kind("ScaledObject")
    assert set(scaled) == {"router", "tracker", "notifier"}
    topics = {name: d["spec"]["partitions"] for name, d in of_kind("KafkaTopic").items()}
    for name, scaled_object in scaled.items():
        assert scaled_object["spec"]["scaleTargetRef"]["name"] == name
        for trigger in scaled_object["spec"]["triggers"]:
            assert trigger["type"] == "kafka"
            group = trigger["metadata"]["consumerGroup"]
            # Groups are settings.group("<name>") under the default topic prefix `caseroute.`; the
            # tracker's are settings.group(f"tracker-{first part of the topic}").
            assert group.startswith("caseroute."), group
            part = group.removeprefix("caseroute.")
            assert f'group("{part}")' in code or (part.startswith("tracker-") and 'group(f"tracker-{' in code), group
            if "topic" in trigger["metadata"]:
                assert scaled_object["spec"]["maxReplicaCount"] <= topics[trigger["metadata"]["topic"]]
    assert of_kind("HorizontalPodAutoscaler")["intake"]["spec"]["scaleTargetRef"]["name"] == "intake"


def test_strimzi_topics_include_the_compacted_catalogue_and_config_names_real_settings() -> None:
    topics = of_kind("KafkaTopic")
    assert topics["caseroute.catalogue.v1"]["spec"]["config"]["cleanup.policy"] == "compact"
    from services.settings import Settings

    known = Settings.variables()  # the names start-up accepts, nested groups and _FILE variants included
    config = of_kind("ConfigMap")["caseroute-config"]["data"]
    secret = of_kind("Secret")["caseroute-secrets"]["stringData"]
    assert set(config) | set(secret) <= known, (set(config) | set(secret)) - known


def _allows(user: dict[str, Any], operation: str, kind: str, name: str) -> bool:
    """Kafka's simple authoriser for one principal without deny rules: a literal or prefix ACL that matches
    the resource and names the operation (or All)."""
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        if resource["type"] != kind or not ({operation, "All"} & set(acl["operations"])):
            continue
        pattern = resource.get("patternType", "literal")
        if (pattern == "literal" and resource["name"] in (name, "*")) or (
                pattern == "prefix" and name.startswith(resource["name"])):
            return True
    return False


def test_department_users_are_current_with_the_catalogue(tmp_path: Path) -> None:
    from catalogue.loader import load_catalogue
    from router.kafka_access import render

    current = render(load_catalogue())
    assert (K8S / "strimzi-departments.yaml").read_text(encoding="utf-8") == current, (
        "deploy/k8s/strimzi-departments.yaml is out of date: run `caseroute deploy kafka-users` and commit it")


def test_a_department_user_writes_only_its_own_reply_topic_and_reads_only_its_own_dispatch_topic() -> None:
    from catalogue.loader import load_catalogue
    from router.kafka_access import department_codes

    departments = department_codes(load_catalogue())
    assert {"amr", "police-duantang", "street-nanmen", "safety-office"} <= set(departments)
    users = {name: d for name, d in of_kind("KafkaUser").items() if name.startswith("caseroute-dept-")}
    assert set(users) == {f"caseroute-dept-{d}" for d in departments}
    topics = set(of_kind("KafkaTopic"))
    amr = users["caseroute-dept-amr"]
    assert _allows(amr, "Write", "topic", "caseroute.replies.amr.v1")
    assert not _allows(amr, "Write", "topic", "caseroute.replies.police-duantang.v1")
    assert not _allows(amr, "Write", "topic", "caseroute.replies.v1")  # the retired shared topic
    for department in departments:
        user = users[f"caseroute-dept-{department}"]
        own_reply, own_dispatch = f"caseroute.replies.{department}.v1", f"caseroute.dispatch.{department}.v1"
        assert {own_reply, own_dispatch} <= topics, department
        for other in departments:
            assert _allows(user, "Write", "topic", f"caseroute.replies.{other}.v1") == (other == department)
            assert _allows(user, "Read", "topic", f"caseroute.dispatch.{other}.v1") == (other == department)
        for topic in ("caseroute.routed.v1", "caseroute.case-events.v1", "caseroute.reports.v1",
                      "caseroute.catalogue.v1", own_reply + ".dlq", own_dispatch):
            assert not _allows(user, "Write", "topic", topic), (department, topic)
        assert not _allows(user, "Create", "topic", own_reply) and not _allows(user, "Alter", "cluster", "")
        assert _allows(user, "Read", "group", f"caseroute.dept.{department}")
        assert not _allows(user, "Read", "group", "caseroute.tracker-replies")


def test_the_services_user_reads_every_reply_topic_the_tracker_consumes() -> None:
    services = of_kind("KafkaUser")["caseroute"]
    assert _allows(services, "Read", "topic", "caseroute.replies.police-duantang.v1")
    assert _allows(services, "Read", "group", "caseroute.tracker-replies")
    assert "caseroute.replies.v1" not in of_kind("KafkaTopic"), "the shared reply topic is retired"
