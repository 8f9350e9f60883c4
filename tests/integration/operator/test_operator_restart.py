"""Across an operator restart: changes made while it was down are picked up on resume, and objects
it owns but no longer renders are found from the watch's initial listing and deleted."""

from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from fakes.kmock_harness import NAMESPACE, Cluster, KMockThread, OperatorProcess, chatbot, wait_for


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, OperatorProcess]]:
    with KMockThread() as server:
        workdir = tmp_path_factory.mktemp("restart")
        kubeconfig = server.write_kubeconfig(workdir / "config", namespace=NAMESPACE)
        process = OperatorProcess(kubeconfig, workdir / "operator.log")
        try:
            yield Cluster(kubernetes.config.new_client_from_config(str(kubeconfig))), process
        finally:
            process.stop()


def ready(cluster: Cluster, name: str) -> bool:
    cond = cluster.condition("chatbots", name, "Ready")
    return bool(cond and cond["status"] == "True")


def test_changes_made_while_down_are_reconciled_on_start(setup: tuple[Cluster, OperatorProcess]) -> None:
    cluster, process = setup
    cluster.secret("llm", {"deepseek": "sk-restart-value"})
    canary = {"version": "2.0.0", "steps": [{"setWeight": 10}]}
    cluster.create("chatbots", chatbot("early", canary=canary))  # before the operator runs
    process.start()
    wait_for(lambda: ready(cluster, "early"), "early Ready after the operator started")
    assert cluster.deployment("early-canary") is not None
    process.stop()
    # While it is down: the canary is dropped and the version promoted.
    cluster.patch("chatbots", "early", {"spec": {"canary": None, "version": "2.0.0"}})
    process.start()
    wait_for(
        lambda: cluster.deployment("early-canary") is None, "the canary Deployment deleted after restart"
    )
    svc = f"/api/v1/namespaces/{NAMESPACE}/services/early-engine-canary"
    wait_for(lambda: cluster.raw(svc) is None, "the canary Service deleted after restart")
    engine = wait_for(lambda: cluster.deployment("early"), "the engine Deployment")
    wait_for(
        lambda: (cluster.deployment("early") or engine)["spec"]["template"]["spec"]["containers"][0][
            "image"
        ].endswith(":2.0.0"),
        "the engine at 2.0.0",
    )
    text = Path(process.log).read_text()
    assert "sk-restart-value" not in text
    assert "Traceback" not in text, text[-3000:]
