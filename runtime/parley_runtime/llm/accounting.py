"""Per-route usage totals and the cost arithmetic (pure; the router feeds it and the metrics)."""

from dataclasses import dataclass

from parley_runtime.config.models import Pricing
from parley_runtime.core.chat import Usage

__all__ = ["RouteUsage", "Tally", "cost_of"]


def cost_of(usage: Usage, pricing: Pricing | None) -> float:
    """Cost of one answer in the pricing's currency (0 without pricing)."""
    if pricing is None:
        return 0.0
    return (
        usage.prompt_tokens * pricing.input_per_million + usage.completion_tokens * pricing.output_per_million
    ) / 1_000_000


@dataclass(frozen=True)
class RouteUsage:
    """A snapshot of one route's totals: answers served, failed calls, tokens and cost."""

    requests: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class Tally:
    """The mutable counters behind `RouteUsage`."""

    __slots__ = ("completion_tokens", "cost", "failures", "prompt_tokens", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0

    def add_usage(self, usage: Usage, cost: float) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost += cost

    def snapshot(self) -> RouteUsage:
        return RouteUsage(self.requests, self.failures, self.prompt_tokens, self.completion_tokens, self.cost)
