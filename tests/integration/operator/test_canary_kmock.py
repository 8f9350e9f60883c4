"""The gray release end to end against KMock, on a fake clock the test moves (`canary_harness`)."""

from __future__ import annotations

import logging

from fakes.kmock_harness import NAMESPACE, Cluster, chatbot, wait_for
from integration.operator.canary_harness import (
    FakeClock,
    FakePrometheus,
    InProcessOperator,
    analysed,
    annotations,
    at,
    canary_status,
    engines,
    image,
    routes,
)

ANALYSIS = {"interval": "1m", "minSampleSize": 10, "maxErrorRate": 0.05, "maxP99Seconds": 8}


def test_a_canary_walks_its_steps_on_the_clock_and_promotes(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    with engines(cluster, "walker") as (canary_engine, stable_engine):
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


def test_a_failing_analysis_rolls_back_with_the_figures_in_status(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    with engines(cluster, "faulty") as (canary_engine, stable_engine):
        steps = [{"setWeight": 20}, {"pause": {"duration": "30m"}}]
        spec = {"version": "2.0.0", "steps": steps, "analysis": {**ANALYSIS, "failureLimit": 2}}
        cluster.create("chatbots", chatbot("faulty", canary=spec))
        wait_for(lambda: at(cluster, "faulty", step=1, weight=20), "step 1 at 20%")

        canary_engine.handled(100, errors=30)
        stable_engine.handled(400, errors=2)  # each track needs minSamples for a verdict
        clock.advance(61)
        wait_for(lambda: analysed(cluster, "faulty", verdict="Fail", failures=1), "one failed window")
        assert at(cluster, "faulty", phase="Progressing", weight=20)  # under failureLimit: goes on

        canary_engine.handled(50, errors=20)
        stable_engine.handled(400, errors=2)
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


def test_an_operator_restarted_mid_canary_resumes_at_the_same_step(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, operator = env
    with engines(cluster, "resumer") as (canary_engine, stable_engine):
        steps = [{"setWeight": 10}, {"pause": {"duration": "2m"}}, {"setWeight": 30}]
        steps += [{"pause": {"duration": "10m"}}, {"setWeight": 60}, {"pause": {}}]
        spec = {"version": "2.0.0", "steps": steps, "analysis": ANALYSIS}
        cluster.create("chatbots", chatbot("resumer", canary=spec))
        wait_for(lambda: at(cluster, "resumer", step=1, weight=10), "step 1")
        canary_engine.handled(20)
        stable_engine.handled(200)
        clock.advance(121)
        before = wait_for(lambda: at(cluster, "resumer", step=3, weight=30), "step 3 at 30%")

        operator.stop()
        clock.advance(60)  # time passes while no operator runs, less than the 10m pause
        canary_engine.handled(20)  # traffic of the window that falls due meanwhile
        stable_engine.handled(200)
        operator.start()
        wait_for(lambda: operator.weight_seen("resumer") == 30, "the new operator to reconcile at 30%")
        after = canary_status(cluster, "resumer")
        for key in ("version", "step", "weight", "phase", "startedAt", "stepStartedAt"):
            assert after[key] == before[key], key

        # ... and it carries on from there: the rest of the pause, then setWeight 60 and the wait.
        canary_engine.handled(20)
        stable_engine.handled(200)
        clock.advance(10 * 60)
        wait_for(lambda: at(cluster, "resumer", step=5, weight=60, phase="Paused"), "Paused at 60%")
        assert routes(cluster, "resumer")["canaryWeight"] == 60
        cluster.custom.delete_namespaced_custom_object(
            "parley.dev", "v1alpha1", NAMESPACE, "chatbots", "resumer"
        )


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
