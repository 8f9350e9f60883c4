"""The operator end to end against KMock: children, updates, drift, secrets, invalid specs, deletion."""

import time
import urllib.request
from typing import Any

import kubernetes
import pytest

from fakes.kmock_harness import NAMESPACE, Cluster, binding, chatbot, wait_for

FEISHU_KEYS = {"appId": "cli_a1", "appSecret": "feishu-app-secret-value", "verificationToken": "vt-value"}
TELEGRAM_BOT_TOKEN = "123456:telegram-secret-token-value"


def ready(cluster: Cluster, plural: str, name: str) -> dict[str, Any] | None:
    cond = cluster.condition(plural, name, "Ready")
    return cond if cond and cond["status"] == "True" else None


@pytest.fixture(scope="module")
def helpdesk(cluster: Cluster) -> dict[str, Any]:
    cluster.secret("llm", {"deepseek": "sk-llm-secret-value"})
    cluster.secret("feishu-app", FEISHU_KEYS)
    cluster.create("chatbots", chatbot("helpdesk"))
    cluster.create("platformbindings", binding("helpdesk-feishu", "helpdesk", "feishu", "feishu-app"))
    wait_for(lambda: ready(cluster, "chatbots", "helpdesk"), "ChatBot helpdesk Ready")
    bot = cluster.get("chatbots", "helpdesk")
    assert bot is not None
    return bot


def owned_by(obj: dict[str, Any], bot: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(
        r["uid"] == bot["metadata"]["uid"] and r["kind"] == "ChatBot" and r["controller"] for r in refs
    )


def test_children_appear_with_owner_references(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    ns = NAMESPACE
    expected = [
        f"/apis/apps/v1/namespaces/{ns}/deployments/helpdesk",
        f"/apis/apps/v1/namespaces/{ns}/deployments/helpdesk-gateway",
        f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/helpdesk",
        f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/helpdesk-gateway",
        f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/helpdesk",
        f"/api/v1/namespaces/{ns}/services/helpdesk-gateway",
        f"/api/v1/namespaces/{ns}/services/helpdesk-engine",
        f"/api/v1/namespaces/{ns}/configmaps/helpdesk-config",
        f"/api/v1/namespaces/{ns}/configmaps/helpdesk-routes",
        f"/api/v1/namespaces/{ns}/secrets/helpdesk-internal",
        f"/api/v1/namespaces/{ns}/serviceaccounts/helpdesk",
    ]
    for path in expected:
        obj = cluster.raw(path)
        assert obj is not None, path
        assert owned_by(obj, helpdesk), path
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "parley-operator"
    engine = cluster.deployment("helpdesk")
    assert engine is not None
    assert engine["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.4.0")
    assert cluster.deployment("helpdesk-canary") is None


def test_internal_secret_gets_a_token_once(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    secret = cluster.raw(f"/api/v1/namespaces/{NAMESPACE}/secrets/helpdesk-internal")
    assert secret is not None
    token = (secret.get("stringData") or secret.get("data") or {}).get("token")
    assert token and len(token) >= 32
    cluster.patch("chatbots", "helpdesk", {"spec": {"session": {"maxTurns": 5}}})
    wait_for(
        lambda: (
            (cluster.get("chatbots", "helpdesk") or {}).get("status", {}).get("observedGeneration", 0) >= 2
        ),
        "the session change to be reconciled",
    )
    again = cluster.raw(f"/api/v1/namespaces/{NAMESPACE}/secrets/helpdesk-internal")
    assert again is not None
    assert (again.get("stringData") or again.get("data") or {}).get("token") == token


def test_binding_status_has_webhook_path(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    cond = wait_for(lambda: ready(cluster, "platformbindings", "helpdesk-feishu"), "binding Ready")
    assert cond["reason"] == "Bound"
    pb = cluster.get("platformbindings", "helpdesk-feishu")
    assert pb is not None
    assert pb["status"]["webhookPath"] == "/webhook/feishu/helpdesk-feishu"


def test_version_update_rolls_the_engine_and_status_follows(
    cluster: Cluster, helpdesk: dict[str, Any]
) -> None:
    cluster.patch("chatbots", "helpdesk", {"spec": {"version": "1.5.0"}})

    def engine_image() -> str | None:
        dep = cluster.deployment("helpdesk") or {}
        image = str(
            dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0].get("image")
        )
        return image if image.endswith(":1.5.0") else None

    wait_for(engine_image, "engine image :1.5.0")
    bot = wait_for(
        lambda: (
            (b := cluster.get("chatbots", "helpdesk")) and b["status"].get("stableVersion") == "1.5.0" and b
        ),
        "status.stableVersion 1.5.0",
    )
    assert bot["status"]["observedGeneration"] == bot["metadata"]["generation"]


def test_deleted_deployment_comes_back(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    before = cluster.deployment("helpdesk-gateway")
    assert before is not None
    cluster.apps.delete_namespaced_deployment("helpdesk-gateway", NAMESPACE)
    back = wait_for(
        lambda: (
            (d := cluster.deployment("helpdesk-gateway"))
            and d["metadata"]["uid"] != before["metadata"]["uid"]
            and d
        ),
        "the gateway Deployment to be recreated",
    )
    assert owned_by(back, helpdesk)


def test_edited_hpa_is_repaired(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    path = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/helpdesk"
    cluster.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
        "helpdesk", NAMESPACE, {"spec": {"maxReplicas": 99}}
    )
    wait_for(
        lambda: (cluster.raw(path) or {}).get("spec", {}).get("maxReplicas") == 10, "maxReplicas back to 10"
    )


def test_what_git_drops_leaves_the_live_object_and_what_others_wrote_stays(
    cluster: Cluster, operator: dict[str, Any]
) -> None:
    limits = {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "100m"}}
    cluster.create("chatbots", chatbot("tidy", resources=limits))

    def container() -> dict[str, Any] | None:
        dep = cluster.deployment("tidy")
        return dep["spec"]["template"]["spec"]["containers"][0] if dep else None

    wait_for(lambda: (c := container()) and c.get("resources", {}).get("limits", {}).get("memory"), "limits")
    # Others write to the Deployment: an HPA scales it, a tool annotates it, a webhook adds a sidecar.
    dep = cluster.deployment("tidy")
    assert dep is not None
    pod = dep["spec"]["template"]["spec"]
    cluster.apps.patch_namespaced_deployment(
        "tidy",
        NAMESPACE,
        {
            "metadata": {"annotations": {"example.com/owner": "team-support"}},
            "spec": {
                "replicas": 5,
                "template": {
                    "spec": {"containers": [*pod["containers"], {"name": "proxy", "image": "envoy:1"}]}
                },
            },
        },
    )
    cluster.patch("chatbots", "tidy", {"spec": {"resources": {"limits": {"memory": None}}}})
    wait_for(lambda: (c := container()) and "memory" not in c["resources"]["limits"], "memory limit gone")
    after = cluster.deployment("tidy")
    assert after is not None
    assert after["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1"}
    assert after["metadata"]["annotations"]["example.com/owner"] == "team-support"
    assert after["spec"]["replicas"] == 5
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]][-1] == "proxy"
    # A hand edit of a field we own is put back.
    cluster.apps.patch_namespaced_deployment(
        "tidy", NAMESPACE, {"metadata": {"labels": {"app.kubernetes.io/version": "hacked"}}}
    )
    wait_for(
        lambda: (
            (d := cluster.deployment("tidy"))
            and d["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.0"
        ),
        "the version label restored",
    )


def test_replicas_come_from_deployment_status(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    # KMock runs no controllers: play the Deployment controller by writing status ourselves.
    for name in ("helpdesk", "helpdesk-gateway"):
        cluster.apps.patch_namespaced_deployment_status(
            name, NAMESPACE, {"status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1}}
        )
    bot = wait_for(
        lambda: (b := cluster.get("chatbots", "helpdesk")) and b["status"].get("replicas") == 4 and b,
        "status.replicas from the Deployments",
    )
    assert bot["status"]["readyReplicas"] == 2


def test_binding_with_missing_secret_key_is_not_ready(cluster: Cluster, operator: dict[str, Any]) -> None:
    cluster.secret("tg-creds", {"botToken": TELEGRAM_BOT_TOKEN})  # secretToken missing
    cluster.create("chatbots", chatbot("tgbot"))
    cluster.create("platformbindings", binding("tgbot-telegram", "tgbot", "telegram", "tg-creds"))
    cond = wait_for(
        lambda: (
            (c := cluster.condition("platformbindings", "tgbot-telegram", "Ready"))
            and c["status"] == "False"
            and c
        ),
        "binding Ready=False",
    )
    assert cond["reason"] == "SecretMissing"
    assert "secretToken" in cond["message"]
    bot_ready = wait_for(lambda: cluster.condition("chatbots", "tgbot", "Ready"), "bot Ready condition")
    assert bot_ready["status"] == "False" and bot_ready["reason"] == "BindingInvalid"
    assert "tgbot-telegram" in bot_ready["message"]
    everything = repr(cluster.get("platformbindings", "tgbot-telegram")) + repr(
        cluster.get("chatbots", "tgbot")
    )
    assert TELEGRAM_BOT_TOKEN not in everything
    assert TELEGRAM_BOT_TOKEN not in operator["log"].read_text()
    # Fix the Secret, then touch the binding: it becomes Ready.
    cluster.core.patch_namespaced_secret(
        "tg-creds", NAMESPACE, {"stringData": {"secretToken": "s3cr3t-value"}}
    )
    cluster.patch(
        "platformbindings", "tgbot-telegram", {"metadata": {"annotations": {"example.com/touch": "1"}}}
    )
    wait_for(lambda: ready(cluster, "platformbindings", "tgbot-telegram"), "binding Ready after the fix")
    wait_for(lambda: ready(cluster, "chatbots", "tgbot"), "bot Ready after the fix")


def test_invalid_spec_stalls_without_children(cluster: Cluster, operator: dict[str, Any]) -> None:
    body = chatbot("broken")
    del body["spec"]["models"]  # the CRD would reject this; KMock does not validate
    body["spec"]["scaling"] = {"minReplicas": 5, "maxReplicas": 2}
    cluster.create("chatbots", body)
    stalled = wait_for(
        lambda: (c := cluster.condition("chatbots", "broken", "Stalled")) and c["status"] == "True" and c,
        "Stalled=True",
    )
    assert stalled["reason"] == "InvalidSpec"
    assert "models" in stalled["message"]
    assert "\n" not in stalled["message"]
    ready_cond = cluster.condition("chatbots", "broken", "Ready")
    assert ready_cond is not None and ready_cond["status"] == "False"
    assert cluster.deployment("broken") is None
    assert cluster.raw(f"/api/v1/namespaces/{NAMESPACE}/configmaps/broken-config") is None


def test_canary_is_deployed_at_its_first_weight_and_removed_with_it(
    cluster: Cluster, operator: dict[str, Any]
) -> None:
    canary = {"version": "2.0.0", "steps": [{"setWeight": 10}, {"pause": {}}]}
    cluster.create("chatbots", chatbot("gray", canary=canary))
    canary_dep = wait_for(lambda: cluster.deployment("gray-canary"), "the canary Deployment")
    assert canary_dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0.0")
    bot = wait_for(
        lambda: ready(cluster, "chatbots", "gray") and cluster.get("chatbots", "gray"), "gray Ready"
    )
    # The first step (setWeight 10) is taken at once; then it waits for parley.dev/promote.
    assert (bot["status"]["canary"]["weight"], bot["status"]["canary"]["phase"]) == (10, "Paused")
    svc = f"/api/v1/namespaces/{NAMESPACE}/services/gray-engine-canary"
    assert cluster.raw(svc) is not None
    cluster.patch("chatbots", "gray", {"spec": {"canary": None}})
    wait_for(lambda: cluster.deployment("gray-canary") is None, "the canary Deployment to be deleted")
    wait_for(lambda: cluster.raw(svc) is None, "the canary Service to be deleted")
    hpa = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/gray-canary"
    wait_for(lambda: cluster.raw(hpa) is None, "the canary HPA to be deleted")
    assert cluster.deployment("gray") is not None
    wait_for(
        lambda: "canary" not in (cluster.get("chatbots", "gray") or {}).get("status", {"canary": 1}),
        "no canary status",
    )


def test_binding_for_missing_bot_says_so(cluster: Cluster, operator: dict[str, Any]) -> None:
    cluster.create("platformbindings", binding("ghost-http", "ghost", "http", None))
    cond = wait_for(
        lambda: cluster.condition("platformbindings", "ghost-http", "Ready"), "binding Ready condition"
    )
    assert cond["status"] == "False" and cond["reason"] == "BotNotFound"


def test_events_are_posted(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    def created_event() -> Any:
        events = cluster.core.list_namespaced_event(NAMESPACE).items
        return [e for e in events if e.involved_object.name == "helpdesk" and e.reason == "Created"]

    events = wait_for(created_event, "a Created event for helpdesk")
    assert "Deployment/helpdesk" in events[0].message


def test_metrics_count_reconciles(operator: dict[str, Any], helpdesk: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{operator['metrics_port']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    assert 'parley_reconcile_total{kind="ChatBot",outcome="changed"}' in text
    assert "parley_reconcile_seconds_bucket" in text


def test_deleting_the_chatbot_removes_it(cluster: Cluster, helpdesk: dict[str, Any]) -> None:
    bot = cluster.get("chatbots", "helpdesk")
    assert bot is not None
    # kopf's only finalizer (it guards the resync timer) is ours by name, and is released on delete.
    assert set(bot["metadata"].get("finalizers") or []) <= {"parley.dev/finalizer"}
    cluster.custom.delete_namespaced_custom_object(
        "parley.dev", "v1alpha1", NAMESPACE, "chatbots", "helpdesk"
    )
    wait_for(lambda: cluster.get("chatbots", "helpdesk") is None, "the ChatBot to go away")
    with pytest.raises(kubernetes.client.ApiException):
        cluster.custom.get_namespaced_custom_object(
            "parley.dev", "v1alpha1", NAMESPACE, "chatbots", "helpdesk"
        )


def test_operator_log_is_clean(operator: dict[str, Any]) -> None:
    """No handler crashed along the way, and no secret value was ever logged."""
    text = operator["log"].read_text()
    assert "Traceback" not in text, text[-3000:]
    for value in ("sk-llm-secret-value", "feishu-app-secret-value", "vt-value", TELEGRAM_BOT_TOKEN):
        assert value not in text


def test_a_paused_bot_is_left_alone_and_resumes_when_the_annotation_goes(
    cluster: Cluster, helpdesk: dict[str, Any]
) -> None:
    cluster.create("chatbots", chatbot("napping"))
    wait_for(lambda: ready(cluster, "chatbots", "napping"), "napping Ready")
    cluster.patch("chatbots", "napping", {"metadata": {"annotations": {"parley.dev/paused": "true"}}})
    cond = wait_for(
        lambda: cluster.condition("chatbots", "napping", "ReconciliationPaused"), "ReconciliationPaused"
    )
    assert cond["status"] == "True"
    cluster.patch("chatbots", "napping", {"spec": {"version": "2.0.0"}})
    cluster.apps.delete_namespaced_deployment("napping-gateway", NAMESPACE)
    time.sleep(3)  # a paused bot must stay as it is: give a reconcile every chance to run
    assert cluster.deployment("napping-gateway") is None
    engine = cluster.deployment("napping")
    assert engine is not None and engine["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":1.4.0"
    )
    cluster.patch("chatbots", "napping", {"metadata": {"annotations": {"parley.dev/paused": None}}})
    wait_for(lambda: cluster.deployment("napping-gateway"), "the gateway recreated on resume")
    wait_for(
        lambda: (
            (d := cluster.deployment("napping"))
            and d["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0.0")
        ),
        "the version applied on resume",
    )
    wait_for(
        lambda: (
            cluster.condition("chatbots", "napping", "ReconciliationPaused") is None
            and ready(cluster, "chatbots", "napping")
        ),
        "the pause condition gone",
    )


def _secrets_checksum(cluster: Cluster, deployment: str) -> str | None:
    dep = cluster.deployment(deployment)
    if dep is None:
        return None
    value = dep["spec"]["template"]["metadata"]["annotations"].get("parley.dev/secrets-checksum")
    return str(value) if value else None


def test_a_secret_rotation_rolls_the_pods_that_mount_it_and_a_missing_one_recovers(
    cluster: Cluster, helpdesk: dict[str, Any]
) -> None:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "baseURL": "https://api.deepseek.com/v1",
        "model": "deepseek-chat",
        "apiKey": {"secretKeyRef": {"name": "rotating-llm", "key": "key"}},
    }
    cluster.create("chatbots", chatbot("rotor", models={"routes": [route]}))
    cond = wait_for(lambda: cluster.condition("chatbots", "rotor", "Ready"), "rotor Ready condition")
    assert (cond["status"], cond["reason"]) == ("False", "SecretMissing")
    assert "rotating-llm" in cond["message"]
    cluster.secret("rotating-llm", {"key": "sk-first"})
    wait_for(lambda: ready(cluster, "chatbots", "rotor"), "rotor Ready once the Secret exists")
    engine = wait_for(lambda: _secrets_checksum(cluster, "rotor"), "the engine's secrets checksum")
    gateway = _secrets_checksum(cluster, "rotor-gateway")
    cluster.core.patch_namespaced_secret("rotating-llm", NAMESPACE, {"stringData": {"key": "sk-second"}})
    rolled = wait_for(
        lambda: (c := _secrets_checksum(cluster, "rotor")) and c != engine and c, "the engine rolled"
    )
    assert "sk-second" not in rolled and "sk-first" not in rolled
    assert _secrets_checksum(cluster, "rotor-gateway") == gateway  # the gateway does not mount it
