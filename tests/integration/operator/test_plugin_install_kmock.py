"""Plugin packages in the cluster, against KMock: the engine gets the init container, and an engine
pod whose install failed turns the ChatBot to Ready=False, PluginInstallFailed — then back once a
pod's install succeeds. KMock runs no kubelet: the test writes the pod states a kubelet would."""

from typing import Any

from fakes.kmock_harness import NAMESPACE, Cluster, chatbot, wait_for

PIP_LOG = (
    "Looking in indexes: https://reader:s3cr3t-token@pkgs.example.com/simple/\n"
    "ERROR: No matching distribution found for parley-weather==9.9.9\n"
)


def engine_pod(name: str, bot: str, init_state: dict[str, Any], last: dict[str, Any] | None = None) -> Any:
    labels = {
        "app.kubernetes.io/name": "parley",
        "app.kubernetes.io/instance": bot,
        "app.kubernetes.io/component": "engine",
        "parley.dev/track": "stable",
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "parley", "image": "x"}]},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [
                {
                    "name": "plugin-packages",
                    "image": "x",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 2,
                    "state": init_state,
                    "lastState": last or {},
                }
            ],
        },
    }


def ready(cluster: Cluster, name: str) -> dict[str, Any] | None:
    return cluster.condition("chatbots", name, "Ready")


def touch(cluster: Cluster, name: str, value: str) -> None:
    """A change the operator reconciles on (KMock sends no pod events the operator watches)."""
    cluster.patch("chatbots", name, {"metadata": {"annotations": {"example.com/touch": value}}})


def test_a_failed_plugin_install_is_a_condition_and_clears_when_an_install_succeeds(
    cluster: Cluster, operator: dict[str, Any]
) -> None:
    cluster.secret("llm", {"deepseek": "sk-llm-secret-value"})
    plugins = [{"name": "weather", "package": "parley-weather==9.9.9", "config": {"defaultCity": "Oslo"}}]
    cluster.create("chatbots", chatbot("weather", plugins=plugins))
    wait_for(lambda: (c := ready(cluster, "weather")) and c["status"] == "True", "ChatBot weather Ready")
    engine = wait_for(lambda: cluster.deployment("weather"), "the engine Deployment")
    (init,) = engine["spec"]["template"]["spec"]["initContainers"]
    assert init["name"] == "plugin-packages" and init["args"][-1] == "parley-weather==9.9.9"
    gateway = cluster.deployment("weather-gateway")
    assert gateway is not None and "initContainers" not in gateway["spec"]["template"]["spec"]

    failed = {"terminated": {"exitCode": 1, "reason": "Error", "message": PIP_LOG}}
    backoff = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
    cluster.core.create_namespaced_pod(NAMESPACE, engine_pod("weather-5d8f-x1", "weather", backoff, failed))
    touch(cluster, "weather", "1")
    cond = wait_for(
        lambda: (c := ready(cluster, "weather")) and c["reason"] == "PluginInstallFailed" and c,
        "Ready=False, PluginInstallFailed",
    )
    assert cond["status"] == "False"
    assert cond["message"] == (
        "engine pod weather-5d8f-x1: pip exited with 1: "
        "No matching distribution found for parley-weather==9.9.9"
    )
    stalled = cluster.condition("chatbots", "weather", "Stalled")
    assert stalled is not None and stalled["status"] == "True"
    assert "s3cr3t-token" not in repr(cluster.get("chatbots", "weather"))
    assert "s3cr3t-token" not in operator["log"].read_text()

    # The pod that failed goes (a fixed spec rolled it away); the new pod's install succeeded.
    cluster.core.delete_namespaced_pod("weather-5d8f-x1", NAMESPACE)
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    cluster.core.create_namespaced_pod(NAMESPACE, engine_pod("weather-7b1c-y2", "weather", done))
    touch(cluster, "weather", "2")
    wait_for(
        lambda: (c := ready(cluster, "weather")) and c["status"] == "True" and c["reason"] == "Reconciled",
        "Ready again after a successful install",
    )
