"""The install path end to end on kind: build both images from the Dockerfiles, load them, `helm install`
the chart (through Helm's Go SDK) with the quick-start Redis, run a fake LLM and a fake platform in the
cluster, send a webhook and see the reply arrive; then walk a canary to promotion.

Opt-in: `pytest tests/e2e/test_helm_kind.py --e2e` with Docker, kind and kubectl (see docs/testing.md).
"""

import json
import re
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helm_python
import httpx
import pytest
import yaml

from parley_runtime.core.tracks import track_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "parley-helm-e2e"
SYSTEM = "parley-system"
NS = "e2e"
BOT = "e2e-bot"
BINDING = "e2e-http"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
CANARY_VERSION = f"{VERSION}-canary"
RUNTIME = "ghcr.io/parley-dev/parley-runtime"
OPERATOR = "ghcr.io/parley-dev/parley-operator"

# One small server plays both outside parties: an OpenAI-compatible LLM and the HTTP platform's
# callback receiver (which the test reads back through GET /replies).
FAKE_SERVER = r"""
import json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

replies, lock = [], threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/replies":
            with lock:
                return self._send(200, list(replies))
        return self._send(200, {"status": "ok"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/replies":
            with lock:
                replies.append(body)
            return self._send(200, {"ok": True})
        if self.path.endswith("/chat/completions"):
            last = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]["content"]
            text = "fake-llm: " + (last if isinstance(last, str) else json.dumps(last))
            if body.get("stream"):
                chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}
                tokens = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                usage = {"choices": [], "usage": tokens}
                sse = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n"
                return self._send(200, sse.encode(), "text/event-stream")
            return self._send(200, {
                "id": "chatcmpl-e2e", "object": "chat.completion", "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })
        return self._send(404, {"error": "not found"})

ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def run(*argv: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("kubectl", "--kubeconfig", str(kubeconfig), *args, timeout=360, check=check)


def apply(kubeconfig: Path, *docs: dict[str, Any]) -> None:
    text = yaml.safe_dump_all(docs)
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def eventually(probe: Callable[[], Any], *, what: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


@contextmanager
def port_forward(kubeconfig: Path, namespace: str, target: str, port: int) -> Iterator[str]:
    cmd = ["kubectl", "--kubeconfig", str(kubeconfig), "-n", namespace, "port-forward", target, f":{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert found, f"kubectl port-forward said: {line!r}"
        yield f"http://127.0.0.1:{found.group(1)}"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("kind") / "kubeconfig"
    run("kind", "create", "cluster", "--name", CLUSTER, "--kubeconfig", str(path), "--wait", "180s")
    try:
        yield path
    finally:
        run("kind", "delete", "cluster", "--name", CLUSTER, timeout=300, check=False)


@pytest.fixture(scope="module")
def images(kubeconfig: Path) -> None:
    """Both images built from the Dockerfiles; the runtime also tagged as the canary version."""
    runtime, operator = f"{RUNTIME}:{VERSION}", f"{OPERATOR}:{VERSION}"
    run("docker", "build", "-f", str(ROOT / "Dockerfile.runtime"), "-t", runtime, str(ROOT), timeout=1800)
    run("docker", "build", "-f", str(ROOT / "Dockerfile.operator"), "-t", operator, str(ROOT), timeout=1800)
    run("docker", "tag", runtime, f"{RUNTIME}:{CANARY_VERSION}")
    for image in (runtime, f"{RUNTIME}:{CANARY_VERSION}", operator):
        run("kind", "load", "docker-image", image, "--name", CLUSTER, timeout=900)
    inspect = json.loads(run("docker", "image", "inspect", runtime).stdout)[0]["Config"]
    assert inspect["User"] == "10001:10001"
    assert inspect["Labels"]["org.opencontainers.image.version"] == VERSION


@pytest.fixture(scope="module")
def release(kubeconfig: Path, images: None) -> dict[str, Any]:
    with (
        helm_python.Config(kubeconfig_path=kubeconfig, namespace=SYSTEM) as config,
        helm_python.Chart.load(ROOT / "charts" / "parley") as chart,
    ):
        installed: dict[str, Any] = dict(
            config.install(
                chart,
                "parley",
                {"redis": {"enabled": True}, "image": {"pullPolicy": "Never"}},
                namespace=SYSTEM,
                create_namespace=True,
                wait="watcher",
                timeout=600,
            )
        )
    kubectl(kubeconfig, "-n", SYSTEM, "rollout", "status", "deployment/parley-operator", "--timeout=300s")
    kubectl(kubeconfig, "-n", SYSTEM, "rollout", "status", "statefulset/parley-redis", "--timeout=300s")
    return installed


def _fake_objects() -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "fake"}
    restricted = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "fake", "namespace": NS},
            "data": {"fake.py": FAKE_SERVER},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "fake", "namespace": NS, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "fake",
                                "image": f"{RUNTIME}:{VERSION}",  # any image with Python will do
                                "imagePullPolicy": "Never",
                                "command": ["python", "/fake/fake.py"],
                                "ports": [{"name": "http", "containerPort": 8000}],
                                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                                "securityContext": restricted,
                                "volumeMounts": [{"name": "code", "mountPath": "/fake"}],
                            }
                        ],
                        "volumes": [{"name": "code", "configMap": {"name": "fake"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "fake", "namespace": NS},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "redis", "namespace": NS},
            "stringData": {"url": f"redis://parley-redis.{SYSTEM}.svc:6379/0"},
        },
    ]


def _bot(**spec: Any) -> list[dict[str, Any]]:
    bot = {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "ChatBot",
        "metadata": {"name": BOT, "namespace": NS},
        "spec": {
            "version": VERSION,
            "persona": {"systemPrompt": "You are a test bot."},
            "models": {
                "routes": [
                    {
                        "name": "fake",
                        "provider": "openai-compatible",
                        "baseURL": f"http://fake.{NS}.svc:8000/v1",
                        "model": "fake-1",
                    }
                ]
            },
            "scaling": {"minReplicas": 1, "maxReplicas": 1},
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
            "redis": {"url": {"secretKeyRef": {"name": "redis", "key": "url"}}},
            **spec,
        },
    }
    binding = {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "PlatformBinding",
        "metadata": {"name": BINDING, "namespace": NS},
        "spec": {
            "botRef": {"name": BOT},
            "platform": "http",
            "settings": {"callbackUrl": f"http://fake.{NS}.svc:8000/replies"},
        },
    }
    return [bot, binding]


@pytest.fixture(scope="module")
def bot(kubeconfig: Path, release: dict[str, Any]) -> None:
    apply(kubeconfig, *_fake_objects())
    kubectl(kubeconfig, "-n", NS, "rollout", "status", "deployment/fake", "--timeout=180s")
    apply(kubeconfig, *_bot())
    kubectl(kubeconfig, "-n", NS, "wait", f"chatbot/{BOT}", "--for=condition=Ready", "--timeout=300s")


def _send(kubeconfig: Path, user: str, message_id: str) -> dict[str, Any]:
    """POST a message to the gateway's webhook, then wait for the fake platform to receive the reply."""
    with port_forward(kubeconfig, NS, f"svc/{BOT}-gateway", 80) as gateway:
        body = {"message": f"hello from {user}", "user_id": user, "message_id": message_id}
        answer = httpx.post(f"{gateway}/webhook/http/{BINDING}", json=body, timeout=10)
        assert answer.status_code == 202, answer.text
    with port_forward(kubeconfig, NS, "svc/fake", 8000) as fake:

        def received() -> dict[str, Any] | None:
            replies = httpx.get(f"{fake}/replies", timeout=5).json()
            return next((r for r in replies if r.get("message_id") == message_id), None)

        reply: dict[str, Any] = eventually(received, what=f"the reply to {message_id}", timeout=120)
    return reply


def _user_on(track: str, weight: int) -> str:
    return next(f"user-{i}" for i in range(1000) if track_for(BOT, "http", f"user-{i}", weight) == track)


def test_release_installs_the_crds_and_a_running_operator(kubeconfig: Path, release: dict[str, Any]) -> None:
    crds = kubectl(kubeconfig, "get", "crd", "-o", "name").stdout
    assert "chatbots.parley.dev" in crds and "platformbindings.parley.dev" in crds
    pod = json.loads(
        kubectl(
            kubeconfig,
            "-n",
            SYSTEM,
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/component=operator",
            "-o",
            "json",
        ).stdout
    )["items"][0]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_webhook_gets_a_reply_from_the_llm(kubeconfig: Path, bot: None) -> None:
    reply = _send(kubeconfig, "user-stable", "e2e-1")
    assert reply["reply"].startswith("fake-llm: hello from user-stable")
    assert reply["track"] == "stable"


def test_canary_walk_splits_traffic_then_promotes(kubeconfig: Path, bot: None) -> None:
    steps = [{"setWeight": 50}, {"pause": {}}]
    canary = {"canary": {"version": CANARY_VERSION, "steps": steps}}
    kubectl(
        kubeconfig, "-n", NS, "patch", "chatbot", BOT, "--type", "merge", "-p", json.dumps({"spec": canary})
    )

    def at_fifty() -> bool:
        out = kubectl(kubeconfig, "-n", NS, "get", "chatbot", BOT, "-o", "jsonpath={.status.canary.weight}")
        return out.stdout.strip() == "50"

    eventually(at_fifty, what="status.canary.weight = 50")
    kubectl(kubeconfig, "-n", NS, "rollout", "status", f"deployment/{BOT}-canary", "--timeout=300s")
    assert _send(kubeconfig, _user_on("canary", 50), "e2e-canary")["track"] == "canary"
    assert _send(kubeconfig, _user_on("stable", 50), "e2e-stable")["track"] == "stable"

    kubectl(kubeconfig, "-n", NS, "annotate", "chatbot", BOT, "parley.dev/promote=true", "--overwrite")

    def promoted() -> bool:
        out = kubectl(kubeconfig, "-n", NS, "get", "chatbot", BOT, "-o", "jsonpath={.status.stableVersion}")
        gone = (
            kubectl(kubeconfig, "-n", NS, "get", "deployment", f"{BOT}-canary", check=False).returncode != 0
        )
        return out.stdout.strip() == CANARY_VERSION and gone

    eventually(promoted, what="promotion to the canary version")
    engine = json.loads(kubectl(kubeconfig, "-n", NS, "get", "deployment", BOT, "-o", "json").stdout)
    assert engine["spec"]["template"]["spec"]["containers"][0]["image"] == f"{RUNTIME}:{CANARY_VERSION}"
