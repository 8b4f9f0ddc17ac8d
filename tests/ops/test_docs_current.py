"""docs/ holds the current OpenAPI and AsyncAPI documents: regenerated here and compared byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from caseroute.apidocs import SERVICES, export
from tests.conftest import REPO

DOCS = REPO / "docs"


def test_committed_documents_are_what_the_code_generates(tmp_path: Path) -> None:
    written = export(tmp_path)
    assert {p.name for p in written} == {f"openapi-{s}.json" for s in SERVICES} | {"asyncapi.yaml"}
    stale = [p.name for p in written
             if not (DOCS / p.name).exists() or (DOCS / p.name).read_text(encoding="utf-8") != p.read_text("utf-8")]
    assert not stale, f"docs/ is out of date: {stale}; run `caseroute docs export` and commit the result"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if isinstance(node.get("$ref"), str) else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_asyncapi_is_version_3_with_every_topic_and_every_reference_resolving() -> None:
    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {f"caseroute.{t}" for t in ("reports.v1", "hotline.calls.v1", "routed.v1",
                                                      "dispatch.{department}.v1", "replies.{department}.v1",
                                                      "case-events.v1", "catalogue.v1", "statements.v1")
                         } | {"{topic}.dlq"}
    for channel in document["channels"].values():
        for name in ("department", "topic"):
            assert (f"{{{name}}}" in channel["address"]) == (name in channel.get("parameters", {}))
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref
    for operation in document["operations"].values():
        channel = _resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert message["$ref"].rsplit("/", 1)[1] in channel["messages"]
