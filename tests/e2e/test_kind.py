"""On a real cluster (kind): CRDs install, the operator reconciles the examples to Ready, and the
API server does what KMock cannot — schema/CEL rejection and garbage collection of owned objects."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "parley-e2e"
NAMESPACE = "default"


def kubectl(*args: str, kubeconfig: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["kubectl", "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=180)


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("kind") / "kubeconfig"
    subprocess.run(
        ["kind", "create", "cluster", "--name", CLUSTER, "--kubeconfig", str(path), "--wait", "120s"],
        check=True,
        timeout=600,
    )
    try:
        yield path
    finally:
        subprocess.run(["kind", "delete", "cluster", "--name", CLUSTER], check=False, timeout=300)


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    kubectl("apply", "-f", str(ROOT / "crds"), kubeconfig=kubeconfig)
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s", kubeconfig=kubeconfig)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    parley = str(Path(sys.executable).with_name("parley"))
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    cmd = [parley, "operator", "--metrics-port", "0", "--liveness", "http://127.0.0.1:0/healthz"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield log
    finally:
        proc.terminate()
        proc.wait(30)


def test_quickstart_becomes_ready(kubeconfig: Path, operator: Path) -> None:
    kubectl("apply", "-f", str(ROOT / "manifests/examples/quickstart.yaml"), kubeconfig=kubeconfig)
    kubectl("wait", "--for=condition=Ready", "chatbot/quickstart", "--timeout=120s", kubeconfig=kubeconfig)
    kubectl(
        "wait",
        "--for=condition=Ready",
        "platformbinding/quickstart-http",
        "--timeout=60s",
        kubeconfig=kubeconfig,
    )
    deployment = json.loads(
        kubectl("get", "deployment", "quickstart", "-o", "json", kubeconfig=kubeconfig).stdout
    )
    assert deployment["metadata"]["ownerReferences"][0]["kind"] == "ChatBot"


def test_crd_rejects_an_invalid_spec(kubeconfig: Path, operator: Path) -> None:
    bad = {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "ChatBot",
        "metadata": {"name": "bad-scaling"},
        "spec": {
            "version": "1.0.0",
            "models": {"routes": [{"name": "e", "provider": "echo", "model": "e"}]},
            "scaling": {"minReplicas": 5, "maxReplicas": 2},
        },
    }
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
        input=json.dumps(bad),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "minReplicas" in result.stderr


def test_deleting_the_chatbot_garbage_collects_its_children(kubeconfig: Path, operator: Path) -> None:
    kubectl("delete", "chatbot", "quickstart", "--wait=true", "--timeout=60s", kubeconfig=kubeconfig)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = kubectl("get", "deployment", "quickstart", kubeconfig=kubeconfig, check=False)
        if found.returncode != 0:
            break
        time.sleep(1)
    else:
        pytest.fail("the engine Deployment was not garbage-collected")
