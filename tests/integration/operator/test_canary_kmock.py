"""The gray release end to end against KMock, on a fake clock the test moves.

The operator runs in-process (kopf in a thread with its own loop) so that its wall clock is a
`FakeClock` passed in through `OperatorContext.now`, the same seam production uses with the real
clock. Engine metrics come from real HTTP servers on 127.0.0.1 that serve the runtime's own
`Metrics`; the operator finds them the real way: Pod objects in KMock with the engine labels,
`status.podIP: 127.0.0.1` and a container port named `http` set to the server's port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import kopf
import kubernetes
import pytest

from fakes.kmock_harness import NAMESPACE, Cluster, KMockThread, chatbot, wait_for
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


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def operator_log() -> Iterator[list[logging.LogRecord]]:
    """Every log record of the module's operator runs (kopf's and Parley's)."""
    handler = _Collect()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what `parley operator` logs at
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(scope="module")
def kmock_server() -> Iterator[KMockThread]:
    with KMockThread() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_request_log(kmock_server: KMockThread) -> Iterator[None]:
    """KMock matches each request against every earlier one: keep its log short between tests."""
    yield
    kmock_server.forget_requests()


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
    clock: FakeClock,
    operator_log: list[logging.LogRecord],
    kmock_server: KMockThread,
) -> Iterator[tuple[Cluster, InProcessOperator]]:
    server = kmock_server
    with pytest.MonkeyPatch.context() as mp:
        kubeconfig = server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", namespace=NAMESPACE)
        mp.setenv("KUBECONFIG", str(kubeconfig))  # what kopf's login reads, as in a pod's environment
        cluster = Cluster(kubernetes.config.new_client_from_config(str(kubeconfig)))
        cluster.secret("llm", {"deepseek": "sk-canary-test-value"})
        operator = InProcessOperator(clock).start()
        try:
            yield cluster, operator
        finally:
            operator.stop()


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


ANALYSIS = {"interval": "1m", "minSampleSize": 10, "maxErrorRate": 0.05, "maxP99Seconds": 8}


def test_a_canary_walks_its_steps_on_the_clock_and_promotes(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    canary_engine, stable_engine = FakeEngine("canary"), FakeEngine("stable")
    try:
        engine_pod(cluster, "walker", "canary", canary_engine.port)
        engine_pod(cluster, "walker", "stable", stable_engine.port)
        steps = [{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}, {"pause": {}}]
        spec = {"version": "2.0.0", "steps": steps, "analysis": ANALYSIS}
        cluster.create("chatbots", chatbot("walker", canary=spec))

        # Step 0 (setWeight 10) is taken at once; the canary runs at 2.0.0 and the route file says 10.
        wait_for(lambda: at(cluster, "walker", step=1, weight=10, phase="Progressing"), "step 1 at 10%")
        wait_for(lambda: routes(cluster, "walker").get("canaryWeight") == 10, "the route file at 10")
        assert image(cluster, "walker-canary") == "ghcr.io/parley-dev/parley-runtime:2.0.0"
        assert image(cluster, "walker") == "ghcr.io/parley-dev/parley-runtime:1.4.0"

        # A quiet minute: too few messages, inconclusive — and the pause does not end on no data.
        clock.advance(61)
        wait_for(lambda: analysed(cluster, "walker", verdict="Inconclusive"), "an inconclusive window")
        clock.advance(5 * 60)
        wait_for(
            lambda: "waiting for an analysis window" in canary_status(cluster, "walker").get("message", ""),
            "the pause held by the missing data",
        )
        assert at(cluster, "walker", step=1, weight=10)

        # Traffic that passes: the pause ends, setWeight 50, then the indefinite pause.
        canary_engine.handled(40, errors=1)
        stable_engine.handled(400, errors=4)
        clock.advance(61)
        paused = wait_for(lambda: at(cluster, "walker", step=3, weight=50, phase="Paused"), "Paused at 50%")
        assert paused["analysis"]["verdict"] == "Pass"
        assert paused["analysis"]["canary"]["messages"] == 40
        assert paused["analysis"]["stable"]["messages"] == 400
        wait_for(lambda: routes(cluster, "walker").get("canaryWeight") == 50, "the route file at 50")
        reconciling = cluster.condition("chatbots", "walker", "Reconciling") or {}
        assert (reconciling.get("status"), reconciling.get("reason")) == ("True", "CanaryPaused")

        # A person promotes: stable := 2.0.0, the canary goes, the annotation is removed.
        cluster.patch("chatbots", "walker", {"metadata": {"annotations": {"parley.dev/promote": "true"}}})
        done = wait_for(lambda: at(cluster, "walker", phase="Promoted", weight=0), "Promoted")
        assert done["version"] == "2.0.0"
        wait_for(
            lambda: image(cluster, "walker") == "ghcr.io/parley-dev/parley-runtime:2.0.0", "stable at 2.0.0"
        )
        wait_for(lambda: cluster.deployment("walker-canary") is None, "the canary Deployment removed")
        hpa = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/walker-canary"
        wait_for(lambda: cluster.raw(hpa) is None, "the canary HPA removed")
        bot = cluster.get("chatbots", "walker") or {}
        assert bot["status"]["stableVersion"] == "2.0.0"
        assert "parley.dev/promote" not in annotations(cluster, "walker")
        assert routes(cluster, "walker") == {
            "bot": "walker", "stableVersion": "2.0.0", "canaryVersion": None, "canaryWeight": 0,
        }  # fmt: skip

        # The GitOps PR: spec.version := 2.0.0 and spec.canary removed → the record is cleared.
        cluster.patch("chatbots", "walker", {"spec": {"version": "2.0.0", "canary": None}})
        wait_for(
            lambda: "canary" not in (cluster.get("chatbots", "walker") or {}).get("status", {}), "cleared"
        )
        assert image(cluster, "walker") == "ghcr.io/parley-dev/parley-runtime:2.0.0"
    finally:
        canary_engine.close()
        stable_engine.close()


def test_a_failing_analysis_rolls_back_with_the_figures_in_status(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    canary_engine, stable_engine = FakeEngine("canary"), FakeEngine("stable")
    try:
        engine_pod(cluster, "faulty", "canary", canary_engine.port)
        engine_pod(cluster, "faulty", "stable", stable_engine.port)
        steps = [{"setWeight": 20}, {"pause": {"duration": "30m"}}]
        spec = {"version": "2.0.0", "steps": steps, "analysis": {**ANALYSIS, "failureLimit": 2}}
        cluster.create("chatbots", chatbot("faulty", canary=spec))
        wait_for(lambda: at(cluster, "faulty", step=1, weight=20), "step 1 at 20%")

        canary_engine.handled(100, errors=30)
        clock.advance(61)
        wait_for(lambda: analysed(cluster, "faulty", verdict="Fail", failures=1), "one failed window")
        assert at(cluster, "faulty", phase="Progressing", weight=20)  # under failureLimit: goes on

        canary_engine.handled(50, errors=20)
        clock.advance(61)
        rolled = wait_for(lambda: at(cluster, "faulty", phase="RolledBack"), "RolledBack")
        assert rolled["weight"] == 0
        stalled = cluster.condition("chatbots", "faulty", "Stalled") or {}
        assert (stalled.get("status"), stalled.get("reason")) == ("True", "AnalysisFailed")
        assert "error rate 0.4 > 0.05" in stalled["message"] and "over 50 messages" in stalled["message"]
        wait_for(lambda: routes(cluster, "faulty").get("canaryWeight") == 0, "the route file back at 0")
        wait_for(lambda: cluster.deployment("faulty-canary") is None, "the canary Deployment removed")
        assert image(cluster, "faulty") == "ghcr.io/parley-dev/parley-runtime:1.4.0"

        # A new canary version starts over.
        canary_engine.handled(100)
        cluster.patch("chatbots", "faulty", {"spec": {"canary": {**spec, "version": "2.0.1"}}})
        wait_for(lambda: at(cluster, "faulty", version="2.0.1", phase="Progressing", step=1), "started over")
        wait_for(
            lambda: image(cluster, "faulty-canary") == "ghcr.io/parley-dev/parley-runtime:2.0.1", "2.0.1"
        )
        stalled = cluster.condition("chatbots", "faulty", "Stalled") or {}
        assert stalled.get("status") == "False"
    finally:
        canary_engine.close()
        stable_engine.close()


def test_an_operator_restarted_mid_canary_resumes_at_the_same_step(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, operator = env
    canary_engine = FakeEngine("canary")
    try:
        engine_pod(cluster, "resumer", "canary", canary_engine.port)
        steps = [{"setWeight": 10}, {"pause": {"duration": "2m"}}, {"setWeight": 30}]
        steps += [{"pause": {"duration": "10m"}}, {"setWeight": 60}, {"pause": {}}]
        spec = {"version": "2.0.0", "steps": steps, "analysis": ANALYSIS}
        cluster.create("chatbots", chatbot("resumer", canary=spec))
        wait_for(lambda: at(cluster, "resumer", step=1, weight=10), "step 1")
        canary_engine.handled(20)
        clock.advance(121)
        before = wait_for(lambda: at(cluster, "resumer", step=3, weight=30), "step 3 at 30%")

        operator.stop()
        clock.advance(60)  # time passes while no operator runs, less than the 10m pause
        operator.start()
        wait_for(lambda: operator.weight_seen("resumer") == 30, "the new operator to reconcile at 30%")
        after = canary_status(cluster, "resumer")
        for key in ("version", "step", "weight", "phase", "startedAt", "stepStartedAt"):
            assert after[key] == before[key], key

        # ... and it carries on from there: the rest of the pause, then setWeight 60 and the wait.
        canary_engine.handled(20)
        clock.advance(10 * 60)
        wait_for(lambda: at(cluster, "resumer", step=5, weight=60, phase="Paused"), "Paused at 60%")
        assert routes(cluster, "resumer")["canaryWeight"] == 60
        cluster.custom.delete_namespaced_custom_object(
            "parley.dev", "v1alpha1", NAMESPACE, "chatbots", "resumer"
        )
    finally:
        canary_engine.close()


def test_abort_by_annotation(env: tuple[Cluster, InProcessOperator], clock: FakeClock) -> None:
    cluster, _ = env
    spec = {"version": "2.0.0", "steps": [{"setWeight": 5}, {"pause": {}}], "analysis": ANALYSIS}
    cluster.create("chatbots", chatbot("stopper", canary=spec))
    wait_for(lambda: at(cluster, "stopper", phase="Paused", weight=5), "Paused at 5%")
    cluster.patch("chatbots", "stopper", {"metadata": {"annotations": {"parley.dev/abort": "true"}}})
    wait_for(lambda: at(cluster, "stopper", phase="Aborted", weight=0), "Aborted")
    stalled = cluster.condition("chatbots", "stopper", "Stalled") or {}
    assert (stalled.get("status"), stalled.get("reason")) == ("True", "Aborted")
    wait_for(lambda: cluster.deployment("stopper-canary") is None, "the canary Deployment removed")
    wait_for(
        lambda: "parley.dev/abort" not in annotations(cluster, "stopper"), "the abort annotation removed"
    )


def test_analysis_through_a_prometheus_url(env: tuple[Cluster, InProcessOperator], clock: FakeClock) -> None:
    cluster, _ = env
    prom = FakePrometheus()
    try:
        prom.set("canary", ok=80, errors=20)
        prom.set("stable", ok=1000, errors=1)
        analysis = {**ANALYSIS, "prometheusURL": prom.url}
        spec = {
            "version": "2.0.0",
            "steps": [{"setWeight": 25}, {"pause": {"duration": "1h"}}],
            "analysis": analysis,
        }
        cluster.create("chatbots", chatbot("prom", canary=spec))
        wait_for(lambda: at(cluster, "prom", weight=25, step=1), "step 1 at 25%")
        clock.advance(61)
        wait_for(lambda: at(cluster, "prom", phase="RolledBack"), "RolledBack")
        stalled = cluster.condition("chatbots", "prom", "Stalled") or {}
        assert "error rate 0.2 > 0.05" in stalled.get("message", "")
        assert "stable error rate 0.000999 over 1001 messages" in stalled["message"]
        assert any(
            'chatbot="prom",track="canary"' in q and "parley_messages_total" in q for q in prom.queries
        )
    finally:
        prom.close()


def test_no_secret_values_and_no_crashes_in_the_operator_log(
    env: tuple[Cluster, InProcessOperator], operator_log: list[logging.LogRecord]
) -> None:
    assert operator_log, "the operator logged nothing at all"
    text = "\n".join(r.getMessage() for r in operator_log)
    assert "sk-canary-test-value" not in text
    crashes = [r.getMessage() for r in operator_log if r.exc_info and r.name.startswith("parley")]
    assert crashes == []
    # kopf ran the real handlers (its own log says so), and they never failed.
    handled = [r.getMessage() for r in operator_log if r.name.startswith("kopf")]
    assert any("succeeded" in m for m in handled), handled[-20:]
    assert not [m for m in handled if "failed with an exception" in m]
