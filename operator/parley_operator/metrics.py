"""The operator's Prometheus metrics, in a registry of their own created at start-up.

Why not the runtime's `Metrics`: the operator may import only the runtime's config and core, and
its metrics (docs/operator.md, "Events and metrics": `parley_reconcile_total{kind,outcome}`,
`parley_reconcile_seconds`) are its own,
plus `parley_canary_weight{namespace,chatbot}`: the weight the route file carries, per bot in a canary.
"""

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

OUTCOMES = ("ok", "changed", "stalled", "error")


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconcile_total = Counter(
            "parley_reconcile_total",
            "Reconciles by kind and outcome (ok, changed, stalled, error).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "parley_reconcile_seconds",
            "Duration of one reconcile, gather to status write.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

        self.canary_weight = Gauge(
            "parley_canary_weight",
            "Percent of users routed to the canary track, as written to the route ConfigMap.",
            ["namespace", "chatbot"],
            registry=self.registry,
        )

    def set_canary_weight(self, namespace: str, chatbot: str, weight: int | None) -> None:
        """None (no gray release, or the bot is gone) drops the series instead of reporting 0 forever."""
        if weight is None:
            with contextlib.suppress(KeyError):  # never set: nothing to drop
                self.canary_weight.remove(namespace, chatbot)
        else:
            self.canary_weight.labels(namespace=namespace, chatbot=chatbot).set(weight)

    def observe(self, kind: str, outcome: str, seconds: float) -> None:
        self.reconcile_total.labels(kind=kind, outcome=outcome).inc()
        self.reconcile_seconds.labels(kind=kind).observe(seconds)

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Serve /metrics from a daemon thread; port 0 disables the endpoint."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
