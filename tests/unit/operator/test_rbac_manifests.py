"""The operator's RBAC: valid objects, no wildcards, and enough to apply everything render produces."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from parley_operator.render import OwnerRef, render_bot
from unit.operator.operator_factories import CANARY, make_binding, make_chatbot

RBAC = Path(__file__).parents[3] / "manifests" / "rbac" / "operator.yaml"


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC.read_text(encoding="utf-8")) if d]


def _rules() -> list[dict[str, Any]]:
    [role] = [d for d in _docs() if d["kind"] == "ClusterRole"]
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def _allowed(group: str, resource: str, verb: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in _rules()
    )


@pytest.mark.parametrize("version", ["1.30", "1.34"])
def test_rbac_objects_are_valid(version: str) -> None:
    for doc in _docs():
        assert kubernetes_validate.validate(doc, version, strict=True) == version


def test_no_wildcards() -> None:
    for rule in _rules():
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field]


def test_binding_ties_the_role_to_the_service_account() -> None:
    docs = {d["kind"]: d for d in _docs()}
    binding = docs["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == docs["ClusterRole"]["metadata"]["name"]
    account = docs["ServiceAccount"]["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]


def test_operator_may_create_and_patch_everything_it_renders() -> None:
    owner = OwnerRef("parley.dev/v1alpha1", "ChatBot", "helpdesk", "u")
    for obj in render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="n", owner=owner):
        group = obj["apiVersion"].rpartition("/")[0]
        resource = {
            "HorizontalPodAutoscaler": "horizontalpodautoscalers",
            "PodDisruptionBudget": "poddisruptionbudgets",
            "NetworkPolicy": "networkpolicies",
        }.get(obj["kind"], obj["kind"].lower() + "s")
        for verb in ("get", "create", "patch", "delete"):
            assert _allowed(group, resource, verb), (group, resource, verb)


def test_operator_holds_what_the_gateway_role_grants() -> None:
    """RBAC escalation prevention: a Role may only grant what its creator holds."""
    for verb in ("get", "create", "update"):
        assert _allowed("coordination.k8s.io", "leases", verb)


def test_custom_resources_status_finalizers_events_and_crds() -> None:
    for kind in ("chatbots", "platformbindings"):
        for verb in ("get", "list", "watch", "patch"):
            assert _allowed("parley.dev", kind, verb)
        assert _allowed("parley.dev", f"{kind}/status", "patch")
        assert _allowed("parley.dev", f"{kind}/finalizers", "update")
    assert _allowed("", "events", "create") and _allowed("", "events", "patch")
    for verb in ("get", "list", "watch"):
        assert _allowed("apiextensions.k8s.io", "customresourcedefinitions", verb)
