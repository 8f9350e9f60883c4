"""installgen's pure steps: templates to objects, Helm bookkeeping out, deterministic apply order."""

from typing import Any

import yaml

from parley_operator import installgen


def _deployment(name: str = "parley-operator") -> dict[str, Any]:
    labels = {"helm.sh/chart": "parley-0.1.0", "app.kubernetes.io/managed-by": "Helm", "app": "x"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "parley-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": "c"}]}},
        },
    }


def test_objects_from_templates_skips_notes_and_empty_templates() -> None:
    rendered = {
        "parley/templates/NOTES.txt": "kind: NotAnObject\n",
        "parley/templates/redis.yaml": "\n\n",
        "parley/templates/rbac.yaml": "kind: ClusterRole\n---\nkind: ClusterRoleBinding\n",
        "parley/templates/deployment.yaml": "kind: Deployment\n",
    }
    kinds = [o["kind"] for o in installgen.objects_from_templates(rendered)]
    assert kinds == ["Deployment", "ClusterRole", "ClusterRoleBinding"]


def test_for_kubectl_drops_helm_labels_everywhere_but_keeps_selectors() -> None:
    original = _deployment()
    cleaned = installgen.for_kubectl(original)
    for labels in (cleaned["metadata"]["labels"], cleaned["spec"]["template"]["metadata"]["labels"]):
        assert labels == {"app.kubernetes.io/managed-by": "kubectl", "app": "x"}
    assert cleaned["spec"]["selector"] == {"matchLabels": {"app": "x"}}
    assert original["metadata"]["labels"]["helm.sh/chart"] == "parley-0.1.0"  # input untouched


def test_ordered_puts_identities_before_workloads_then_sorts_by_name() -> None:
    objs = [
        _deployment("b"),
        {"kind": "ClusterRoleBinding", "metadata": {"name": "z"}},
        _deployment("a"),
        {"kind": "ServiceAccount", "metadata": {"name": "y", "namespace": "n"}},
        {"kind": "Unheard", "metadata": {"name": "u"}},
        {"kind": "ClusterRole", "metadata": {"name": "z"}},
    ]
    order = [(o["kind"], o["metadata"]["name"]) for o in installgen.ordered(objs)]
    assert order == [
        ("ServiceAccount", "y"),
        ("ClusterRole", "z"),
        ("ClusterRoleBinding", "z"),
        ("Deployment", "a"),
        ("Deployment", "b"),
        ("Unheard", "u"),
    ]


def test_install_text_is_header_namespace_crds_then_objects() -> None:
    crd = (
        "# generated\napiVersion: apiextensions.k8s.io/v1\n"
        "kind: CustomResourceDefinition\nmetadata: {name: a.b}\n"
    )
    text = installgen.install_text([crd], [_deployment()], namespace="parley-system")
    assert text.startswith(installgen.HEADER)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["Namespace", "CustomResourceDefinition", "Deployment"]
    assert docs[0]["metadata"]["name"] == "parley-system"
    assert "# generated" in text
    assert installgen.install_text([crd], [_deployment()], namespace="parley-system") == text
