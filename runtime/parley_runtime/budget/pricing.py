"""A model call's worst case and its real cost, in whole units the stores add exactly (pure).

The worst case is what a call reserves before it runs: the estimated prompt (`core.budget`'s estimator,
tool definitions included) plus the most the answer may hold (the request's `max_tokens`, else the
route's `maxTokens`, else `DEFAULT_OUTPUT_TOKENS`, as the providers read them), priced at the dearest
route that could answer it. The real cost is the usage the answering route reported, at its prices.

USD amounts are counted in nano-dollars (integers): Redis and SQLite then add them exactly, and a Lua
number holds any total under nine million dollars without rounding.
"""

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from parley_runtime.config.models import Budget, ModelRoute, Models, Pricing
from parley_runtime.core import budget as estimator
from parley_runtime.core.chat import ChatRequest, ToolCall, Usage
from parley_runtime.llm import accounting
from parley_runtime.llm.router import SPEECH_CAPABILITIES

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "KEY_TTL_SECONDS",
    "NANO_PER_USD",
    "Amount",
    "Counter",
    "PriceList",
    "answer_tokens",
    "counters",
    "nano_usd",
    "prompt_tokens",
    "utc_day",
]

NANO_PER_USD = 1_000_000_000
DEFAULT_OUTPUT_TOKENS = 1024  # reserved for a route without `maxTokens` when the request sets none
KEY_TTL_SECONDS = 2 * 86_400  # a day's counters outlive it by a day, then go


def nano_usd(usd: float) -> int:
    """Rounded up, so a reservation never falls short by a rounding (the inner round drops float noise)."""
    return math.ceil(round(usd * NANO_PER_USD, 3))


def utc_day(now: float) -> str:
    """The UTC calendar day of the Unix time `now`: every replica and time zone agrees on it."""
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")


def prompt_tokens(request: ChatRequest) -> int:
    """The estimated prompt: every message plus the tool definitions the request offers."""
    tokens = sum(map(estimator.estimate_message_tokens, request.messages))
    for tool in request.tools:
        described = f"{tool.name} {tool.description} {json.dumps(tool.parameters, separators=(',', ':'))}"
        tokens += estimator.estimate_tokens(described)
    return tokens


def answer_tokens(text: str, calls: Sequence[ToolCall]) -> int:
    """The estimated answer, for a provider that reported no usage."""
    tokens = estimator.estimate_tokens(text)
    for call in calls:
        tokens += estimator.estimate_tokens(call.name) + estimator.estimate_tokens(call.arguments)
    return tokens


@dataclass(frozen=True, slots=True)
class Amount:
    """Tokens and cost of one call (reserved or real), and the route whose prices made the cost."""

    tokens: int
    usd: float
    route: str

    @property
    def nano_usd(self) -> int:
        return nano_usd(self.usd)


@dataclass(frozen=True, slots=True)
class _Route:
    name: str
    capabilities: frozenset[str]
    pricing: Pricing | None
    max_tokens: int | None


class PriceList:
    """The chat routes' prices and output caps, read once from `spec.models`."""

    def __init__(self, models: Models) -> None:
        self._routes = tuple(
            _route(r) for r in models.routes if not SPEECH_CAPABILITIES & set(r.capabilities)
        )
        self._by_name = {r.name: r for r in self._routes}

    def worst_case(self, request: ChatRequest, prompt: int) -> Amount:
        """The most `request` can cost on any route able to answer it (every chat route when none is)."""
        needed = request.required_capabilities()
        eligible = [r for r in self._routes if needed <= r.capabilities] or self._routes
        tokens, usd, dearest = 0, 0.0, ""
        for route in eligible:
            output = request.max_tokens or route.max_tokens or DEFAULT_OUTPUT_TOKENS
            tokens = max(tokens, prompt + output)
            cost = accounting.cost_of(Usage(prompt_tokens=prompt, completion_tokens=output), route.pricing)
            if cost > usd or not dearest:
                usd, dearest = cost, route.name
        return Amount(tokens, usd, dearest)

    def actual(self, route: str, usage: Usage, reserved: Amount) -> Amount:
        """`usage` at the prices of `route`; at the reservation's prices when the route is not known."""
        known = self._by_name.get(route) or self._by_name.get(reserved.route)
        pricing = known.pricing if known is not None else None
        return Amount(usage.total_tokens, accounting.cost_of(usage, pricing), known.name if known else route)


def _route(spec: ModelRoute) -> _Route:
    return _Route(spec.name, frozenset(spec.capabilities), spec.pricing, spec.max_tokens)


@dataclass(frozen=True, slots=True)
class Counter:
    """One daily counter a message draws on: per user or for the whole bot, in tokens or USD."""

    key: str
    limit: int
    unit: Literal["tokens", "usd"]
    scope: Literal["user", "bot"]

    def take(self, amount: Amount) -> int:
        return amount.tokens if self.unit == "tokens" else amount.nano_usd


def counters(budget: Budget, *, bot: str, platform: str, user_id: str) -> tuple[Counter, ...]:
    """The counters of `budget` that a message from `user_id` on `platform` draws on."""
    found: list[Counter] = []
    user = f"{bot}:user:{platform}:{user_id}"
    if budget.per_user_daily is not None:
        if budget.per_user_daily.tokens:
            found.append(Counter(f"{user}:tokens", budget.per_user_daily.tokens, "tokens", "user"))
        if budget.per_user_daily.usd:
            found.append(Counter(f"{user}:usd", _nano_limit(budget.per_user_daily.usd), "usd", "user"))
    if budget.per_bot_daily is not None and budget.per_bot_daily.usd:
        found.append(Counter(f"{bot}:bot:usd", _nano_limit(budget.per_bot_daily.usd), "usd", "bot"))
    return tuple(found)


def _nano_limit(usd: float) -> int:
    """Rounded down: a limit never grows by a rounding."""
    return math.floor(round(usd * NANO_PER_USD, 3))
