"""Reconciler scheduling without an API: echo-only nudges do nothing, resync delays are spread."""

import asyncio

from parley_operator.handlers.chatbot import spread
from parley_operator.handlers.inventory import Inventory
from parley_operator.handlers.reconcile import Reconciler
from parley_operator.k8s.client import KubeClient
from parley_operator.metrics import OperatorMetrics


def no_client() -> KubeClient:
    raise AssertionError("no API call was expected")


async def test_a_nudge_that_is_no_longer_needed_never_touches_the_api() -> None:
    metrics = OperatorMetrics()
    reconciler = Reconciler(no_client, metrics, Inventory())
    reports: list[object] = []
    for _ in range(3):  # a burst joins one pending run
        reconciler.nudge("bots", "helpdesk", list, reports.append, needed=lambda: False)
    for _ in range(5):
        await asyncio.sleep(0)
    assert reports == []
    assert (
        metrics.registry.get_sample_value("parley_reconcile_total", {"kind": "ChatBot", "outcome": "ok"})
        is None
    )


async def test_a_needed_nudge_runs_and_api_errors_are_contained() -> None:
    calls: list[str] = []

    def failing_client() -> KubeClient:
        calls.append("client")
        raise RuntimeError("boom")

    reconciler = Reconciler(failing_client, OperatorMetrics(), Inventory())
    reconciler.nudge("bots", "helpdesk", list, lambda outcome: None)
    reconciler.nudge("bots", "helpdesk", list, lambda outcome: None)  # joins the first
    for _ in range(5):
        await asyncio.sleep(0)
    assert calls == ["client"]
    assert not reconciler._tasks  # finished, the error logged rather than left in the task


def test_resync_delays_are_stable_and_spread() -> None:
    delays = [spread(300.0, f"uid-{i}") for i in range(200)]
    assert all(150.0 <= d < 450.0 for d in delays)
    assert spread(300.0, "uid-1") == spread(300.0, "uid-1")
    assert max(delays) - min(delays) > 200.0
