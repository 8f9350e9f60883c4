"""The runtime's Prometheus metrics (docs/operations.md, "Read the dashboard"), on a registry owned by
one `Metrics` instance."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "parley_messages_total", "Messages handled", ["platform", "track", "outcome"], registry=r
        )
        self.message_seconds = Histogram(
            "parley_message_seconds",
            "Receipt to reply sent",
            ["platform", "track"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_requests = Counter(
            "parley_llm_requests_total",
            "LLM requests per route",
            ["provider", "model", "outcome"],
            registry=r,
        )
        self.llm_seconds = Histogram(
            "parley_llm_seconds",
            "LLM request latency",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "parley_llm_tokens_total", "Tokens used per route", ["route", "model", "kind"], registry=r
        )
        self.llm_cost = Counter(
            "parley_llm_cost_total",
            "Cost per route in the pricing's currency",
            ["route", "model"],
            registry=r,
        )
        self.provider_up = Gauge(
            "parley_provider_up", "1 when the route's circuit is closed", ["provider"], registry=r
        )
        self.queue_lag = Gauge("parley_queue_lag", "Messages waiting per track", ["track"], registry=r)
        self.webhook_rejected = Counter(
            "parley_webhook_rejected_total",
            "Inbound callbacks that failed verification",
            ["platform", "reason"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "parley_webhook_ack_seconds",
            "Time to acknowledge a platform callback",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.duplicates = Counter(
            "parley_duplicates_total", "Redeliveries dropped by de-duplication", ["platform"], registry=r
        )
        self.sends = Counter("parley_outbound_total", "Outbound sends", ["platform", "outcome"], registry=r)
        self.plugin_errors = Counter(
            "parley_plugin_errors_total", "Exceptions contained in plugins", ["plugin"], registry=r
        )
        self.rate_limited = Counter(
            "parley_rate_limited_total", "Messages refused by the rate limiter", ["platform"], registry=r
        )
        # Counted only when a budget is configured: the budget's settle prices each call (docs/budgets.md).
        self.cost_usd = Counter(
            "parley_cost_usd_total", "Model cost in USD, settled per call", ["bot", "route"], registry=r
        )
        self.budget_refused = Counter(
            "parley_budget_refused_total",
            "Model calls refused because a daily budget would be exceeded",
            ["bot", "scope"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
