"""The CRDs in crds/ are exactly what the models generate, and are valid, structural CRDs."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from parley_operator import crdgen
from parley_operator.schema import crd

CRDS = Path(__file__).parents[3] / "crds"
FILES = ("chatbots.yaml", "platformbindings.yaml")


def _schema(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((CRDS / name).read_text(encoding="utf-8"))
    schema: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    yield from _nodes(sub)
            elif key in ("items", "additionalProperties"):
                yield from _nodes(value)


def test_checked_in_crds_match_the_models() -> None:
    for name, text in crd.render_all().items():
        assert (CRDS / name).read_text(encoding="utf-8") == text, f"crds/{name} is stale: run `make crds`"


def test_check_mode_reports_stale_and_missing_files(tmp_path: Path) -> None:
    assert crdgen.main([str(tmp_path), "--check"]) == 1
    assert crdgen.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert crdgen.main([str(tmp_path), "--check"]) == 0
    (tmp_path / "chatbots.yaml").write_text("# edited\n", encoding="utf-8")
    assert crdgen.stale(tmp_path) == ["chatbots.yaml"]


@pytest.mark.parametrize("version", ["1.30", "1.34"])
@pytest.mark.parametrize("name", FILES)
def test_crds_pass_kubernetes_validate(name: str, version: str) -> None:
    doc = yaml.safe_load((CRDS / name).read_text(encoding="utf-8"))
    assert kubernetes_validate.validate(doc, version, strict=True) == version


@pytest.mark.parametrize(
    ("name", "kind", "short", "columns"),
    [
        ("chatbots.yaml", "ChatBot", "cb", ["Version", "Canary", "Weight", "Ready", "Age"]),
        ("platformbindings.yaml", "PlatformBinding", "pb", ["Bot", "Platform", "Ready", "Age"]),
    ],
)
def test_names_version_and_columns(name: str, kind: str, short: str, columns: list[str]) -> None:
    doc = yaml.safe_load((CRDS / name).read_text(encoding="utf-8"))
    spec = doc["spec"]
    assert doc["metadata"]["name"] == f"{spec['names']['plural']}.parley.dev"
    assert spec["group"] == "parley.dev" and spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == kind
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["parley"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns


def test_chatbot_printer_column_paths() -> None:
    doc = yaml.safe_load((CRDS / "chatbots.yaml").read_text(encoding="utf-8"))
    paths = {c["name"]: c["jsonPath"] for c in doc["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert paths["Version"] == ".spec.version"
    assert paths["Canary"] == ".status.canary.version"
    assert paths["Weight"] == ".status.canary.weight"
    assert paths["Ready"] == '.status.conditions[?(@.type=="Ready")].status'


@pytest.mark.parametrize("name", FILES)
def test_schema_is_structural(name: str) -> None:
    for node in _nodes(_schema(name)):
        assert not {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "propertyNames"} & node.keys()
        assert node.get("additionalProperties") is not False
        assert "type" in node, node
        if "default" in node:
            assert not isinstance(node["default"], dict | list)


def test_optional_models_are_nullable_and_defaults_scalar() -> None:
    spec = _schema("chatbots.yaml")["properties"]["spec"]
    assert spec["properties"]["canary"]["nullable"] is True
    assert spec["properties"]["redis"]["nullable"] is True
    scaling = spec["properties"]["scaling"]["properties"]
    assert (scaling["minReplicas"]["default"], scaling["maxReplicas"]["default"]) == (2, 10)
    assert "default" not in spec["properties"]["scaling"]
    analysis = spec["properties"]["canary"]["properties"]["analysis"]["properties"]
    assert analysis["maxP99Seconds"]["exclusiveMinimum"] is True


def test_free_form_maps_keep_unknown_fields() -> None:
    plugin = _schema("chatbots.yaml")["properties"]["spec"]["properties"]["plugins"]["items"]
    assert plugin["properties"]["config"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    binding = _schema("platformbindings.yaml")["properties"]["spec"]
    assert binding["properties"]["settings"]["x-kubernetes-preserve-unknown-fields"] is True
    assert "x-kubernetes-preserve-unknown-fields" not in binding


def test_closed_key_maps_become_properties() -> None:
    resources = _schema("chatbots.yaml")["properties"]["spec"]["properties"]["resources"]["properties"]
    assert set(resources["requests"]["properties"]) == {"cpu", "memory", "ephemeral-storage"}


def test_platform_enum_and_weight_bounds() -> None:
    binding = _schema("platformbindings.yaml")["properties"]["spec"]["properties"]
    assert "feishu" in binding["platform"]["enum"] and "telegram" in binding["platform"]["enum"]
    chatbot = _schema("chatbots.yaml")["properties"]["spec"]["properties"]
    weight = chatbot["models"]["properties"]["routes"]["items"]["properties"]["weight"]
    assert (weight["minimum"], weight["maximum"]) == (0, 100)
    step = chatbot["canary"]["properties"]["steps"]["items"]["properties"]["setWeight"]
    assert (step["minimum"], step["maximum"]) == (0, 100)


def test_status_schema() -> None:
    status = _schema("chatbots.yaml")["properties"]["status"]
    props = status["properties"]
    assert set(props) >= {
        "conditions",
        "stableVersion",
        "canary",
        "replicas",
        "readyReplicas",
        "observedGeneration",
    }
    condition = props["conditions"]["items"]["properties"]
    assert set(condition) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    }
    assert set(props["canary"]["properties"]) == {
        "version",
        "baseVersion",
        "weight",
        "step",
        "phase",
        "startedAt",
        "stepStartedAt",
        "message",
        "analysis",
        "overlayHash",
        "baseConfigHash",
        "overlay",
        "notify",
    }
    assert set(props["canary"]["properties"]["notify"]["properties"]) == {"bindingRef", "chatId"}
    history = props["history"]["items"]["properties"]
    assert set(history) == {"revision", "version", "configHash", "promotedAt", "cause", "config"}
    assert history["config"]["x-kubernetes-preserve-unknown-fields"] is True
    # The analysis record (baselines, figures) must survive pruning: the operator resumes from it.
    assert props["canary"]["properties"]["analysis"]["x-kubernetes-preserve-unknown-fields"] is True
    assert "webhookPath" in _schema("platformbindings.yaml")["properties"]["status"]["properties"]
