"""Reserve before each model call, settle after: the router as one message's budget sees it.

The pipeline asks `BudgetGuard.model_for(message)` for the model of one message and hands it to the
tool loop, so every round reserves its own worst case (`pricing.PriceList.worst_case`) and settles to
what the answering route reported. A reservation that does not fit raises `OverBudget` before anything
reaches the provider. A call that fails gives its reservation back; a stream settles when it ends, and
one cut short after the provider began answering settles what was received (estimated), since the
provider bills it. An answer without usage settles the estimate, never zero.

A store that cannot be reached refuses the call (its error propagates: the user gets the failure
reply); a settle that fails is logged and the answer still goes out (the hold expires on its own).
"""

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from parley_runtime.budget import pricing
from parley_runtime.config.models import Budget, Models
from parley_runtime.core.chat import ChatRequest, ChatResponse, StreamChunk, ToolCall, Usage
from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import BudgetStore, Charge, ChatModel
from parley_runtime.observability.metrics import Metrics

__all__ = ["HOLD_SECONDS", "BudgetGuard", "OverBudget"]

log = logging.getLogger("parley.budget")

# A reservation outlives any call it guards (route timeouts, retries, a long stream); one whose replica
# died is given back after this long.
HOLD_SECONDS = 900.0


class OverBudget(Exception):
    """The next model call would exceed a daily budget; nothing was sent to the provider."""

    def __init__(self, scope: str, reply: str) -> None:
        super().__init__(f"the {scope} budget for today is spent")
        self.scope = scope
        self.reply = reply


@dataclass(frozen=True, slots=True)
class _Hold:
    day: str
    id: str
    prompt: int
    reserved: pricing.Amount


class BudgetGuard:
    """Builds per-message models that draw on `store`; one per bot, built by the composition root."""

    def __init__(
        self,
        bot: str,
        budget: Budget,
        models: Models,
        store: BudgetStore,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot = bot
        self.budget = budget
        self.prices = pricing.PriceList(models)
        self.store = store
        self.metrics = metrics
        self.clock = clock

    def model_for(self, model: ChatModel, message: InboundMessage) -> ChatModel:
        """`model` whose every call is reserved and settled against the budgets of `message`'s sender."""
        found = pricing.counters(
            self.budget, bot=self.bot, platform=message.platform, user_id=message.user_id
        )
        return _Guarded(self, model, found)

    async def reserve(self, request: ChatRequest, found: tuple[pricing.Counter, ...]) -> _Hold:
        prompt = pricing.prompt_tokens(request)
        reserved = self.prices.worst_case(request, prompt)
        hold = _Hold(pricing.utc_day(self.clock()), uuid.uuid4().hex, prompt, reserved)
        charges = [Charge(c.key, c.limit, c.take(reserved)) for c in found]
        refused = await self.store.reserve(hold.day, hold.id, charges, HOLD_SECONDS)
        if refused is not None:
            scope = next(c.scope for c in found if c.key == refused)
            self.metrics.budget_refused.labels(self.bot, scope).inc()
            raise OverBudget(scope, self.budget.reply)
        return hold

    async def settle(
        self, hold: _Hold, found: tuple[pricing.Counter, ...], route: str, usage: Usage | None, answer: int
    ) -> None:
        """Settle `hold` to `usage` (to the estimate `hold.prompt` + `answer` tokens when none came)."""
        if usage is None or not usage.total_tokens:
            usage = Usage(prompt_tokens=hold.prompt, completion_tokens=answer)
        actual = self.prices.actual(route, usage, hold.reserved)
        try:
            await self.store.settle(hold.day, hold.id, [(c.key, c.take(actual)) for c in found])
        except Exception as exc:  # the answer is paid for: it goes out, the hold expires by itself
            log.warning("budget settle failed", extra={"error": type(exc).__name__})
        if actual.usd:
            self.metrics.cost_usd.labels(self.bot, actual.route).inc(actual.usd)

    async def release(self, hold: _Hold, found: tuple[pricing.Counter, ...]) -> None:
        """Give `hold` back: the call it guarded cost nothing."""
        try:
            await self.store.settle(hold.day, hold.id, [(c.key, 0) for c in found])
        except Exception as exc:  # the hold expires by itself
            log.warning("budget release failed", extra={"error": type(exc).__name__})


class _Guarded:
    """`core.protocols.ChatModel` for one message: each call reserved, then settled or released."""

    __slots__ = ("_counters", "_guard", "_model")

    def __init__(self, guard: BudgetGuard, model: ChatModel, found: tuple[pricing.Counter, ...]) -> None:
        self._guard = guard
        self._model = model
        self._counters = found

    async def complete(self, request: ChatRequest) -> ChatResponse:
        hold = await self._guard.reserve(request, self._counters)
        try:
            response = await self._model.complete(request)
        except BaseException:
            await self._guard.release(hold, self._counters)
            raise
        answered = pricing.answer_tokens(response.text, response.tool_calls)
        await self._guard.settle(hold, self._counters, response.route, response.usage, answered)
        return response

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        hold = await self._guard.reserve(request, self._counters)
        chunks = self._model.stream(request)
        route, usage, received = "", None, False
        text: list[str] = []
        calls: list[ToolCall] = []
        try:
            async for chunk in chunks:
                received = True
                route = chunk.route or route
                usage = chunk.usage or usage
                if chunk.delta:
                    text.append(chunk.delta)
                calls.extend(chunk.tool_calls)
                yield chunk
        except BaseException:
            # Cut short: what the provider already sent is billed, a call that never answered is not.
            if received:
                answered = pricing.answer_tokens("".join(text), calls)
                await self._guard.settle(hold, self._counters, route, usage, answered)
            else:
                await self._guard.release(hold, self._counters)
            raise
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        answered = pricing.answer_tokens("".join(text), calls)
        await self._guard.settle(hold, self._counters, route, usage, answered)
