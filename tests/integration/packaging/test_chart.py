"""charts/parley through the real Helm SDK: lint-clean, valid objects for Kubernetes 1.30 and 1.34 with
the default values and the value sets users install with, and the same RBAC and CRDs as the repo's."""

import tomllib
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from integration.packaging.chart_facts import (
    CHART,
    KUBE_VERSIONS,
    ROOT,
    VALUE_SETS,
    chart,
    objects,
    one,
    operator_rbac_rules,
    render,
)
from parley_operator.render import OwnerRef, render_bot
from parley_operator.render import security as runtime_security
from unit.operator.operator_factories import make_binding, make_chatbot

MONITORING = "monitoring.coreos.com/v1"
CLUSTER_SCOPED = {"customresourcedefinitions", "namespaces"}


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_lint_is_clean(values: dict[str, Any], version: str) -> None:
    report = helm_python.lint(CHART, values, strict=True, kube_version=f"v{version}.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_rendered_object_is_valid(values: dict[str, Any], version: str) -> None:
    rendered = objects(values)
    assert rendered
    for obj in rendered:
        if obj["apiVersion"] == MONITORING:
            continue  # Prometheus Operator kinds: checked against the objects they select below
        assert kubernetes_validate.validate(obj, version, strict=True) == version, obj["kind"]


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_crds_are_valid_and_identical_to_the_top_level_crds(version: str) -> None:
    with chart() as c:
        shipped = {entry["filename"].rsplit("/", 1)[-1]: entry["data"] for entry in c.crds}
    top = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "crds").glob("*.yaml"))}
    assert shipped == top
    for path in (CHART / "crds").glob("*.yaml"):
        assert path.read_bytes() == (ROOT / "crds" / path.name).read_bytes()
    for text in shipped.values():
        assert kubernetes_validate.validate(yaml.safe_load(text), version, strict=True) == version


def test_chart_and_app_version_follow_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    with chart() as c:
        assert c.metadata["appVersion"] == project
    deployment = one(objects(), "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/parley-dev/parley-operator:{project}"


def test_image_digest_wins_over_the_tag() -> None:
    deployment = one(objects(VALUE_SETS["locked-down"]), "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/parley-dev/parley-operator@sha256:" + "a" * 64


def test_cluster_role_grants_exactly_the_operator_rbac_rules() -> None:
    objs = objects()
    assert one(objs, "ClusterRole")["rules"] == operator_rbac_rules()
    binding = one(objs, "ClusterRoleBinding")
    account = one(objs, "ServiceAccount")["metadata"]
    assert binding["roleRef"]["name"] == "parley-operator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": "parley-system"}
    ]
    assert not [o for o in objs if o["kind"] in {"Role", "RoleBinding"}]


def test_watch_namespaces_grant_the_same_rules_split_by_scope() -> None:
    objs = objects(VALUE_SETS["namespaced"])
    cluster_rules = one(objs, "ClusterRole")["rules"]
    assert all(set(rule["resources"]) <= CLUSTER_SCOPED for rule in cluster_rules)
    roles = [o for o in objs if o["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["bots", "team-a"]
    for role in roles:
        # Together, in order, the namespaced and cluster-wide halves are exactly the operator's rules.
        assert role["rules"] + cluster_rules == operator_rbac_rules()
    bindings = [o for o in objs if o["kind"] == "RoleBinding"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["bots", "team-a"]
    for b in bindings:
        assert b["subjects"][0]["namespace"] == "parley-system" and b["roleRef"]["kind"] == "Role"
    [container] = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "--namespace=bots" in container["args"] and "--namespace=team-a" in container["args"]


def test_bring_your_own_service_account_and_rbac() -> None:
    objs = objects(VALUE_SETS["locked-down"])
    kinds = {o["kind"] for o in objs}
    assert not kinds & {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "platform-operator"
    assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
    assert one(objs, "Deployment")["metadata"]["name"] == "chat-operator"


def test_operator_pod_is_restricted_and_probed_where_it_listens() -> None:
    objs = objects()
    deployment = one(objs, "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsUser"] == runtime_security.RUN_AS
    assert container["command"] == ["parley"] and container["args"][0] == "operator"
    assert "--liveness=http://0.0.0.0:8081/healthz" in container["args"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert f"--metrics-port={ports['metrics']}" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    assert pod["volumes"][0]["emptyDir"]
    service = one(objs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_redis_is_off_by_default() -> None:
    assert not [o for o in objects() if o["kind"] == "StatefulSet"]
    assert "QUICK-START" not in render()["parley/templates/NOTES.txt"]


def test_quickstart_redis_is_one_official_redis_marked_not_for_production() -> None:
    objs = objects(VALUE_SETS["quickstart-redis"])
    statefulset = one(objs, "StatefulSet", "parley-redis")
    assert statefulset["spec"]["replicas"] == 1
    assert "not-for-production" in " ".join(statefulset["metadata"]["annotations"])
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("redis:")  # the official image
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert statefulset["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    service = one(objs, "Service", "parley-redis")
    assert (
        service["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    )
    notes = render(VALUE_SETS["quickstart-redis"])["parley/templates/NOTES.txt"]
    assert "NOT FOR PRODUCTION" in notes
    assert "redis://parley-redis.parley-system.svc:6379/0" in notes


def test_persistent_redis_claims_a_volume() -> None:
    statefulset = one(objects(VALUE_SETS["redis-persistent"]), "StatefulSet")
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "volumes" not in statefulset["spec"]["template"]["spec"]


def test_service_monitor_scrapes_the_operator_metrics_service() -> None:
    objs = objects(VALUE_SETS["monitoring"])
    monitor = one(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    service = one(objs, "Service", "parley-operator-metrics")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["parley-system"]}
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_pod_monitor_selects_the_bot_pods_the_operator_renders() -> None:
    monitor = one(objects(VALUE_SETS["monitoring"]), "PodMonitor")
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    selector = monitor["spec"]["selector"]["matchLabels"]
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    owner = OwnerRef("parley.dev/v1alpha1", "ChatBot", "helpdesk", "u")
    bot_objects = render_bot(make_chatbot(), [make_binding()], namespace="bots", owner=owner)
    deployments = [o for o in bot_objects if o["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        template = deployment["spec"]["template"]
        assert selector.items() <= template["metadata"]["labels"].items()
        [container] = template["spec"]["containers"]
        assert endpoint["port"] in {p["name"] for p in container["ports"]}
    assert {r["targetLabel"] for r in endpoint["relabelings"]} >= {"chatbot", "component"}
    namespaced = one(objects({**VALUE_SETS["namespaced"], **VALUE_SETS["monitoring"]}), "PodMonitor")
    assert namespaced["spec"]["namespaceSelector"] == {"matchNames": ["bots", "team-a"]}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"watchNamespaces": ["Not_A_Namespace"]}, "/watchNamespaces/0"),
        ({"redis": {"enabeld": True}}, "enabeld"),
        ({"metrics": {"port": 8081}}, "/metrics/port"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"metrics": {"podMonitor": {"interval": "often"}}}, "/metrics/podMonitor/interval"),
        ({"replicaCount": 2}, "replicaCount"),
    ],
)
def test_values_schema_rejects_mistakes_with_the_field_named(values: dict[str, Any], field: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(values)
    assert field in str(caught.value)


def test_notes_tell_the_user_the_next_commands() -> None:
    notes = render()["parley/templates/NOTES.txt"]
    assert "kubectl -n parley-system rollout status deployment/parley-operator" in notes
    assert "kubectl create secret generic redis" in notes
    assert "kubectl apply -f quickstart.yaml" in notes
    assert "watching all namespaces" in notes
    assert (
        "watching namespaces: bots, team-a" in render(VALUE_SETS["namespaced"])["parley/templates/NOTES.txt"]
    )


def test_other_release_names_prefix_every_object() -> None:
    objs = objects({"redis": {"enabled": True}}, name="chat", namespace="ops")
    names = {o["metadata"]["name"] for o in objs}
    assert names == {"chat-parley-operator", "chat-parley-operator-metrics", "chat-parley-redis"}
    assert all(o["metadata"].get("namespace", "ops") == "ops" for o in objs)
