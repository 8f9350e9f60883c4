"""Rendering charts/parley through Helm's Go SDK (helm-python-sdk), offline, for the chart tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helm_python
import yaml

from parley_operator import installgen

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "parley"
RBAC = ROOT / "manifests" / "rbac" / "operator.yaml"
KUBE_VERSIONS = ("1.30", "1.34")

# Meaningful value sets a user would install with; each must lint clean and render valid objects.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": ["bots", "team-a"]},
    "quickstart-redis": {"redis": {"enabled": True}},
    "redis-persistent": {
        "redis": {"enabled": True, "persistence": {"enabled": True, "storageClass": "fast"}}
    },
    "monitoring": {
        "metrics": {
            "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
            "podMonitor": {"enabled": True, "interval": "30s"},
        }
    },
    "locked-down": {
        "image": {"digest": "sha256:" + "a" * 64, "pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "ghcr"}],
        "serviceAccount": {"create": False, "name": "platform-operator"},
        "rbac": {"create": False},
        "fullnameOverride": "chat",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
        "podAnnotations": {"example.com/team": "chat"},
        "priorityClassName": "system-cluster-critical",
    },
}


@contextmanager
def chart() -> Iterator[helm_python.Chart]:
    with helm_python.Chart.load(CHART) as loaded:
        yield loaded


def render(
    values: dict[str, Any] | None = None, *, name: str = "parley", namespace: str = "parley-system"
) -> dict[str, str]:
    with chart() as c:
        return c.render(values or {}, name=name, namespace=namespace, is_install=True)


def objects(
    values: dict[str, Any] | None = None, *, name: str = "parley", namespace: str = "parley-system"
) -> list[dict[str, Any]]:
    return installgen.objects_from_templates(render(values, name=name, namespace=namespace))


def one(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    [found] = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return found


def operator_rbac_rules() -> list[dict[str, Any]]:
    [role] = [
        d for d in yaml.safe_load_all(RBAC.read_text(encoding="utf-8")) if d and d["kind"] == "ClusterRole"
    ]
    rules: list[dict[str, Any]] = role["rules"]
    return rules
