"""Budgets through the real pipeline: the real Router over in-process providers, the real plugin host,
sessions and the SQLite budget store; only the providers are stand-ins (no network)."""

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from factories import make_chatbot, make_inbound
from parley_runtime.budget import pricing
from parley_runtime.budget.guard import BudgetGuard
from parley_runtime.budget.sqlite import SqliteBudgetStore
from parley_runtime.config.models import DEFAULT_BUDGET_REPLY
from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall, Usage
from parley_runtime.core.messages import InboundMessage
from parley_runtime.engine.pipeline import Pipeline, Reply, session_key
from parley_runtime.limits.memory import InProcessRateLimiter
from parley_runtime.llm import circuit, errors
from parley_runtime.llm.router import Router, RouteState
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import Plugin, PluginServices
from parley_runtime.plugins.host import PluginHost
from parley_runtime.sessions.sqlite import SqliteSessionStore

BOT = "helpdesk"
PRICING = {"inputPerMillion": 1000.0, "outputPerMillion": 2000.0}  # $0.001 in, $0.002 out per token


class Model:
    """One route's model in process: fixed usage, scripted tool calls or failures; remembers every call."""

    def __init__(self, name: str = "main", *, usage: tuple[int, int] | None = (60, 20)) -> None:
        self.name = name
        self.usage = usage
        self.text = "fine thanks"
        self.script: list[tuple[ToolCall, ...]] = []
        self.failure: Exception | None = None
        self.break_mid_stream = False
        self.requests: list[ChatRequest] = []

    def _answer(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        calls = self.script.pop(0) if self.script and request.tools else ()
        usage = Usage(prompt_tokens=self.usage[0], completion_tokens=self.usage[1]) if self.usage else Usage()
        return ChatResponse(
            text="" if calls else self.text, model=self.name, route=self.name, tool_calls=calls, usage=usage
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return self._answer(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        answer = self._answer(request)
        for word in answer.text.split(" ") if answer.text else ():
            yield StreamChunk(delta=word + " ", model=self.name, route=self.name)
            if self.break_mid_stream:
                raise errors.RetryableError(self.name, "connection dropped mid-stream")
        yield StreamChunk(
            model=self.name,
            route=self.name,
            tool_calls=answer.tool_calls,
            usage=answer.usage if self.usage else None,
            finish_reason="stop",
        )


@dataclass
class Bot:
    pipeline: Pipeline
    model: Model
    store: SqliteBudgetStore
    metrics: Metrics
    db: Path
    tool_calls: list[str]

    @property
    def day(self) -> str:
        return pricing.utc_day(time.time())

    async def spent(self, key: str) -> int:
        return await self.store.spent(self.day, f"{BOT}:{key}")

    def holds(self) -> int:
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            return int(db.execute("SELECT COUNT(*) FROM parley_budget_holds").fetchone()[0])

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def outcomes(self, outcome: str) -> float:
        return self.sample("parley_messages_total", platform="http", track="stable", outcome=outcome)


@pytest.fixture
async def stack() -> AsyncIterator[contextlib.AsyncExitStack]:
    async with contextlib.AsyncExitStack() as stack:
        yield stack


async def make_bot(
    tmp_path: Path,
    stack: contextlib.AsyncExitStack,
    budget: dict[str, Any],
    *,
    model: Model | None = None,
    route: dict[str, Any] | None = None,
) -> Bot:
    model = model or Model()
    spec_route = {
        "name": model.name,
        "provider": "echo",
        "model": model.name,
        "retries": 0,
        "pricing": PRICING,
    }
    spec_route.update(route or {})
    spec = make_chatbot(BOT, models={"routes": [spec_route]}, budget=budget).spec
    metrics = Metrics()
    state = RouteState(
        spec=spec.models.routes[0], model=model, circuit=circuit.Circuit(3, 30.0), metrics=metrics
    )

    async def no_sleep(_: float) -> None:
        return None

    router = Router([state], clock=time.monotonic, rng=random.Random(1), sleep=no_sleep)
    db = tmp_path / "parley.sqlite3"
    sessions = await SqliteSessionStore.open(db)
    stack.push_async_callback(sessions.close)
    store = await SqliteBudgetStore.open(db)
    stack.push_async_callback(store.close)
    http = await stack.enter_async_context(httpx.AsyncClient(transport=httpx.MockTransport(_refuse)))
    services = PluginServices(http=http, clock=time.time, reset_session=_no_reset, bot=BOT)
    tool_calls: list[str] = []
    plugin = Plugin("lookup")

    @plugin.tool("lookup", description="looks a thing up")
    async def lookup(ctx: Any) -> str:
        tool_calls.append("lookup")
        return "found it"

    host = PluginHost.from_plugins([plugin], services=services, metrics=metrics, builtins=False)
    assert spec.budget is not None
    guard = BudgetGuard(BOT, spec.budget, spec.models, store, metrics)
    pipeline = Pipeline(
        spec,
        model=router,
        sessions=sessions,
        limiter=InProcessRateLimiter(),
        plugins=host,
        metrics=metrics,
        clock=time.time,
        budget=guard,
    )
    return Bot(pipeline, model, store, metrics, db, tool_calls)


def _refuse(request: httpx.Request) -> httpx.Response:
    return httpx.Response(599, text="unit tests make no network calls")


async def _no_reset(message: InboundMessage) -> None:
    return None


async def ask(bot: Bot, text: str = "hello", *, streamed: bool = False, user: str = "user-1") -> Reply:
    message = make_inbound(text, user_id=user, received_at=time.time())
    if not streamed:
        return await bot.pipeline.handle(message)
    events = [e async for e in bot.pipeline.stream(message)]
    assert events[-1].done and events[-1].reply is not None
    return events[-1].reply


def calls(*names: str) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(id=f"c{i}", name=n, arguments="{}") for i, n in enumerate(names))


@pytest.mark.parametrize("streamed", [False, True])
async def test_over_budget_nothing_reaches_the_provider_and_the_user_gets_the_budget_reply(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    budget = {"perUserDaily": {"tokens": 50}, "reply": "Daily limit reached."}
    bot = await make_bot(tmp_path, stack, budget, route={"maxTokens": 100})  # worst case > 50 tokens

    reply = await ask(bot, "hello", streamed=streamed)

    assert (reply.text, reply.outcome, reply.model) == ("Daily limit reached.", "budget", "")
    assert bot.model.requests == []
    assert bot.outcomes("budget") == 1 and bot.outcomes("ok") == 0
    assert bot.sample("parley_budget_refused_total", bot=BOT, scope="user") == 1
    assert await bot.spent("user:http:user-1:tokens") == 0 and bot.holds() == 0
    history = await bot.pipeline.sessions.load(session_key(make_inbound("hello")))
    assert history == []  # a refused turn is not kept


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_call_settles_to_the_usage_the_route_reported(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    budget = {"perUserDaily": {"tokens": 10_000, "usd": 1.0}, "perBotDaily": {"usd": 5.0}}
    bot = await make_bot(tmp_path, stack, budget, route={"maxTokens": 100})

    reply = await ask(bot, streamed=streamed)

    assert reply.outcome == "ok" and reply.text.strip() == "fine thanks"
    cost = (60 * 1000 + 20 * 2000) / 1e6  # the reported usage at the route's prices
    assert await bot.spent("user:http:user-1:tokens") == 80
    assert await bot.spent("user:http:user-1:usd") == pricing.nano_usd(cost)
    assert await bot.spent("bot:usd") == pricing.nano_usd(cost)
    assert bot.holds() == 0
    assert bot.sample("parley_cost_usd_total", bot=BOT, route="main") == pytest.approx(cost)


async def test_spending_stops_at_the_limit_per_user_and_per_bot(
    tmp_path: Path, stack: contextlib.AsyncExitStack
) -> None:
    # $0.10 per answer; a worst case (the prompt + 100 output tokens) costs $0.21 to $0.24
    budget = {"perUserDaily": {"usd": 0.35}, "perBotDaily": {"usd": 0.45}}
    bot = await make_bot(tmp_path, stack, budget, route={"maxTokens": 100})
    answered = 0
    while (await ask(bot, user="alice")).outcome == "ok":
        answered += 1
    assert answered == 2
    assert len(bot.model.requests) == 2
    assert await bot.spent("user:http:alice:usd") == pricing.nano_usd(0.2)
    assert bot.sample("parley_budget_refused_total", bot=BOT, scope="user") == 1

    # bob has an allowance of his own, but the bot's runs out first
    assert (await ask(bot, user="bob")).outcome == "ok"
    assert (await ask(bot, user="bob")).outcome == "budget"
    assert bot.sample("parley_budget_refused_total", bot=BOT, scope="bot") == 1
    assert await bot.spent("bot:usd") == pricing.nano_usd(0.3)
    assert len(bot.model.requests) == 3


@pytest.mark.parametrize("streamed", [False, True])
async def test_every_round_of_the_tool_loop_reserves_and_settles(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    bot = await make_bot(
        tmp_path, stack, {"perUserDaily": {"tokens": 10_000}}, route={"capabilities": ["tools"]}
    )
    bot.model.script = [calls("lookup"), calls("lookup")]

    reply = await ask(bot, streamed=streamed)

    assert reply.outcome == "ok" and bot.tool_calls == ["lookup", "lookup"]
    assert len(bot.model.requests) == 3
    assert await bot.spent("user:http:user-1:tokens") == 3 * 80  # each round settled its own usage
    assert bot.holds() == 0


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_round_that_no_longer_fits_stops_the_tool_loop_before_its_call(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    # round one reserves well under 100 tokens and settles 80; round two cannot fit in the 20 left
    bot = await make_bot(
        tmp_path, stack, {"perUserDaily": {"tokens": 100}}, route={"capabilities": ["tools"], "maxTokens": 10}
    )
    bot.model.script = [calls("lookup"), calls("lookup")]

    reply = await ask(bot, streamed=streamed)

    assert (reply.text, reply.outcome) == (DEFAULT_BUDGET_REPLY, "budget")
    assert len(bot.model.requests) == 1 and bot.tool_calls == ["lookup"]
    assert await bot.spent("user:http:user-1:tokens") == 80 and bot.holds() == 0


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_failed_call_gives_its_reservation_back(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    model = Model()
    model.failure = errors.RetryableError("main", "HTTP 503 from the provider")
    bot = await make_bot(tmp_path, stack, {"perUserDaily": {"tokens": 1200}}, model=model)

    reply = await ask(bot, streamed=streamed)

    assert reply.outcome == "error" and len(model.requests) == 1
    assert await bot.spent("user:http:user-1:tokens") == 0 and bot.holds() == 0
    model.failure = None
    assert (await ask(bot, streamed=streamed)).outcome == "ok"  # the whole allowance is there again


async def test_a_stream_cut_short_settles_what_the_provider_already_sent(
    tmp_path: Path, stack: contextlib.AsyncExitStack
) -> None:
    model = Model()
    model.break_mid_stream = True
    bot = await make_bot(tmp_path, stack, {"perUserDaily": {"tokens": 10_000}}, model=model)

    reply = await ask(bot, streamed=True)

    assert reply.outcome == "error"
    sent = model.requests[0]
    estimated = pricing.prompt_tokens(sent) + pricing.answer_tokens("fine ", ())
    assert await bot.spent("user:http:user-1:tokens") == estimated and bot.holds() == 0


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_answer_without_usage_settles_the_estimate_not_zero(
    tmp_path: Path, stack: contextlib.AsyncExitStack, streamed: bool
) -> None:
    bot = await make_bot(tmp_path, stack, {"perUserDaily": {"tokens": 10_000}}, model=Model(usage=None))

    assert (await ask(bot, streamed=streamed)).outcome == "ok"

    sent = bot.model.requests[0]
    answer = "fine thanks " if streamed else "fine thanks"
    expected = pricing.prompt_tokens(sent) + pricing.answer_tokens(answer, ())
    assert await bot.spent("user:http:user-1:tokens") == expected > 0


async def test_a_cancelled_call_gives_its_reservation_back(
    tmp_path: Path, stack: contextlib.AsyncExitStack
) -> None:
    called = asyncio.Event()

    class Stuck(Model):
        async def complete(self, request: ChatRequest) -> ChatResponse:
            called.set()
            await asyncio.Event().wait()  # until cancelled
            raise AssertionError("never answered")

    bot = await make_bot(tmp_path, stack, {"perUserDaily": {"tokens": 10_000}}, model=Stuck())
    task = asyncio.create_task(ask(bot))
    await called.wait()
    assert bot.holds() == 1  # reserved while the call runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bot.holds() == 0 and await bot.spent("user:http:user-1:tokens") == 0


async def test_a_stream_the_caller_abandons_settles_what_it_received(
    tmp_path: Path, stack: contextlib.AsyncExitStack
) -> None:
    bot = await make_bot(tmp_path, stack, {"perUserDaily": {"tokens": 10_000}})
    guard = bot.pipeline.budget
    assert guard is not None
    model = guard.model_for(bot.pipeline.model, make_inbound("hi"))
    request = ChatRequest(messages=(ChatMessage(role="user", content="hi"),))
    chunks = model.stream(request)
    first = await anext(chunks)
    assert first.delta == "fine " and bot.holds() == 1
    await chunks.aclose()  # type: ignore[attr-defined]  # the client went away

    estimated = pricing.prompt_tokens(request) + pricing.answer_tokens("fine ", ())
    assert await bot.spent("user:http:user-1:tokens") == estimated and bot.holds() == 0
