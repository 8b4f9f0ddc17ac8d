"""deploy/k8s parses, and every Deployment has probes, resources, settings, a Service and a scaling rule."""

from __future__ import annotations

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
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "strimzi-topics.yaml"}


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
                   for s in ("router", "tracker")) + (REPO / "notifier" / "bootstrap.py").read_text()
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
    from services.settings import AuthSettings, KafkaSettings, Settings

    known = {f"CASEROUTE_{f.upper()}" for f in Settings.model_fields} | {
        f"CASEROUTE_KAFKA_{f.upper()}" for f in KafkaSettings.model_fields} | {
        f"CASEROUTE_AUTH_{f.upper()}" for f in AuthSettings.model_fields}
    config = of_kind("ConfigMap")["caseroute-config"]["data"]
    secret = of_kind("Secret")["caseroute-secrets"]["stringData"]
    assert set(config) | set(secret) <= known, (set(config) | set(secret)) - known
