"""The operator's Prometheus metrics, in a registry of their own created at start-up.

Why not the runtime's `Metrics`: the operator may import only the runtime's config and core, and
its metrics (SPEC §4: `parley_reconcile_total{kind,outcome}`, `parley_reconcile_seconds`) are its own.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

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

    def observe(self, kind: str, outcome: str, seconds: float) -> None:
        self.reconcile_total.labels(kind=kind, outcome=outcome).inc()
        self.reconcile_seconds.labels(kind=kind).observe(seconds)

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Serve /metrics from a daemon thread; port 0 disables the endpoint."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
