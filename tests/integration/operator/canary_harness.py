"""What the gray-release tests on KMock share: a fake wall clock, the operator in-process, fake engines
and Prometheus, and readers of what the operator wrote.

The operator runs in-process (kopf in a thread with its own loop) so that its wall clock is a
`FakeClock` passed in through `OperatorContext.now`, the same seam production uses with the real
clock. Engine metrics come from real HTTP servers on 127.0.0.1 that serve the runtime's own
`Metrics`; the operator finds them the real way: Pod objects in KMock with the engine labels,
`status.podIP: 127.0.0.1` and a container port named `http` set to the server's port. The fixtures
that build them are in this folder's conftest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import kopf

from fakes.kmock_harness import NAMESPACE, Cluster
from parley_operator import handlers, runner
from parley_operator.metrics import OperatorMetrics
from parley_operator.policies.canary_record import seconds, stamp
from parley_runtime.observability.metrics import Metrics

START = "2026-11-21T10:00:00Z"


class FakeClock:
    """The operator's wall clock; only the test moves it."""

    def __init__(self, start: str = START) -> None:
        self._t = seconds(start) or 0.0
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            return stamp(self._t)

    def advance(self, by: float) -> None:
        with self._lock:
            self._t += by


class InProcessOperator:
    """`parley operator`'s registry and settings, run by kopf in a thread; a fresh context per start,
    so a restart keeps nothing in memory — exactly like a new pod."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.ctx: handlers.OperatorContext | None = None
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> InProcessOperator:
        ctx = handlers.OperatorContext(metrics=OperatorMetrics(), canary_tick=0.2, now=self.clock.now)
        registry = kopf.OperatorRegistry()
        handlers.register(registry, ctx)
        settings = runner.configure(kopf.OperatorSettings())
        stop = threading.Event()

        def run() -> None:
            asyncio.run(
                kopf.operator(
                    registry=registry, settings=settings, clusterwide=True, standalone=True, stop_flag=stop
                )
            )

        self.ctx, self._stop = ctx, stop
        self._thread = threading.Thread(target=run, daemon=True, name="kopf")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(30)
            assert not self._thread.is_alive(), "the operator did not stop"
        self._stop = self._thread = None

    def weight_seen(self, bot: str) -> float | None:
        """The `parley_canary_weight` this operator process reports for a bot (None: not yet)."""
        assert self.ctx is not None
        labels = {"namespace": NAMESPACE, "chatbot": bot}
        return self.ctx.metrics.registry.get_sample_value("parley_canary_weight", labels)


class FakeEngine:
    """An engine's /metrics (the runtime's own `Metrics`) on 127.0.0.1; the test records messages."""

    def __init__(self, track: str) -> None:
        self.track = track
        self.metrics = Metrics()
        metrics = self.metrics

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = metrics.render() if self.path == "/metrics" else b"not found"
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", metrics.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handled(self, n: int, *, errors: int = 0, seconds_each: float = 0.3) -> None:
        for i in range(n):
            outcome = "error" if i < errors else "ok"
            self.metrics.messages.labels(platform="feishu", track=self.track, outcome=outcome).inc()
            self.metrics.message_seconds.labels(platform="feishu", track=self.track).observe(seconds_each)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakePrometheus:
    """`/api/v1/query` answering instant queries from counters the test sets; it records the queries."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, float]] = {"canary": {}, "stable": {}}  # track → outcome → n
        self.buckets: dict[str, dict[str, float]] = {"canary": {}, "stable": {}}  # track → le → n
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query).get("query", [""])[0]
                fake.queries.append(query)
                body = json.dumps(fake.answer(query)).encode()
                self.send_response(200 if url.path == "/api/v1/query" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, query: str) -> dict[str, Any]:
        if "parley_llm_" in query:  # model calls and cost: none recorded here
            return {"status": "success", "data": {"resultType": "vector", "result": []}}
        track = "canary" if 'track="canary"' in query else "stable"
        label, values = (
            ("outcome", self.messages[track]) if "by (outcome)" in query else ("le", self.buckets[track])
        )
        result = [{"metric": {label: k}, "value": [1795000000, str(v)]} for k, v in values.items()]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    def set(self, track: str, ok: int, errors: int) -> None:
        self.messages[track] = {"ok": ok, "error": errors}
        total = ok + errors
        self.buckets[track] = {"0.5": total, "1": total, "+Inf": total}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def engine_pod(cluster: Cluster, bot: str, track: str, port: int) -> None:
    """A running engine pod as the Deployment's controller would have made it (KMock runs none)."""
    labels = {
        "app.kubernetes.io/name": "parley",
        "app.kubernetes.io/instance": bot,
        "app.kubernetes.io/component": "engine",
        "parley.dev/track": track,
    }
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{bot}-{track}-0", "labels": labels},
        "spec": {
            "containers": [
                {"name": "parley", "image": "x", "ports": [{"name": "http", "containerPort": port}]}
            ]
        },
        "status": {"phase": "Running", "podIP": "127.0.0.1"},
    }
    cluster.core.create_namespaced_pod(NAMESPACE, body)


@contextlib.contextmanager
def engines(cluster: Cluster, bot: str) -> Iterator[tuple[FakeEngine, FakeEngine]]:
    """The bot's canary and stable engine pods, each serving its own fake metrics: (canary, stable)."""
    canary, stable = FakeEngine("canary"), FakeEngine("stable")
    try:
        engine_pod(cluster, bot, "canary", canary.port)
        engine_pod(cluster, bot, "stable", stable.port)
        yield canary, stable
    finally:
        canary.close()
        stable.close()


def annotations(cluster: Cluster, bot: str) -> dict[str, str]:
    return dict(((cluster.get("chatbots", bot) or {}).get("metadata") or {}).get("annotations") or {})


def canary_status(cluster: Cluster, bot: str) -> dict[str, Any]:
    return dict(((cluster.get("chatbots", bot) or {}).get("status") or {}).get("canary") or {})


def routes(cluster: Cluster, bot: str) -> dict[str, Any]:
    cm = cluster.raw(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{bot}-routes") or {}
    return dict(json.loads((cm.get("data") or {}).get("routes.json") or "{}"))


def image(cluster: Cluster, name: str) -> str | None:
    dep = cluster.deployment(name)
    return None if dep is None else str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def at(cluster: Cluster, bot: str, **want: Any) -> dict[str, Any] | None:
    """status.canary once it has every wanted value (for waits)."""
    found = canary_status(cluster, bot)
    return found if all(found.get(k) == v for k, v in want.items()) else None


def analysed(cluster: Cluster, bot: str, **want: Any) -> dict[str, Any] | None:
    found = canary_status(cluster, bot).get("analysis") or {}
    return found if all(found.get(k) == v for k, v in want.items()) else None


def config_map(cluster: Cluster, name: str) -> dict[str, Any] | None:
    return cluster.raw(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{name}")


def bot_yaml(cluster: Cluster, name: str) -> str | None:
    """The runtime config (`bot.yaml`) in ConfigMap `name`; None while it does not exist."""
    cm = config_map(cluster, name)
    return None if cm is None else str((cm.get("data") or {}).get("bot.yaml", ""))


def history(cluster: Cluster, bot: str) -> list[dict[str, Any]]:
    return list(((cluster.get("chatbots", bot) or {}).get("status") or {}).get("history") or [])
