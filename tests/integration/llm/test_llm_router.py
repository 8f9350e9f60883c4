"""The Router against real fake servers: fallback, timeouts, circuits, weights, capabilities, usage."""

import asyncio
import random

import pytest

from fakes.llm_servers import Reply, SleepRecorder, key_for, make_models, make_secrets, route_for
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolSpec
from parley_runtime.llm import errors, router
from parley_runtime.llm.circuit import State

HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))


def build(routes, http, metrics, clock=None, sleep=None, seed=7, **models_fields):
    kwargs = {"rng": random.Random(seed), "sleep": sleep or SleepRecorder()}
    if clock is not None:
        kwargs["clock"] = clock
    return router.build_router(
        make_models(*routes, **models_fields), make_secrets(*routes), http, metrics, **kwargs
    )


def sample(metrics, name, **labels) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_primary_answers_and_fallback_is_untouched(fake_server, http, metrics) -> None:
    primary = fake_server("openai", text="from primary")
    backup = fake_server("anthropic", text="from backup")
    r = build([route_for(primary, "primary"), route_for(backup, "backup", priority=1)], http, metrics)

    response = await r.complete(HELLO)

    assert (response.text, response.route) == ("from primary", "primary")
    assert len(backup.requests) == 0
    assert primary.requests[0].headers["authorization"] == f"Bearer {key_for('primary')}"
    assert (
        sample(metrics, "parley_llm_requests_total", provider="primary", model="fake-model", outcome="ok")
        == 1
    )


async def test_primary_500_falls_back_without_error(fake_server, http, metrics) -> None:
    primary = fake_server("openai")
    backup = fake_server("gemini", text="backup here")
    primary.fail(status=500)
    r = build([route_for(primary, "primary"), route_for(backup, "backup", priority=1)], http, metrics)

    response = await r.complete(HELLO)

    assert (response.text, response.route) == ("backup here", "backup")
    assert len(primary.requests) == 1
    assert (
        sample(metrics, "parley_llm_requests_total", provider="primary", model="fake-model", outcome="error")
        == 1
    )
    assert r.usage()["primary"].failures == 1
    assert r.usage()["backup"].requests == 1


async def test_primary_timeout_falls_back(fake_server, http, metrics) -> None:
    primary = fake_server("anthropic")
    backup = fake_server("openai", text="quick answer")
    primary.hang(seconds=30)
    routes = [route_for(primary, "slow", timeout="300ms"), route_for(backup, "quick", priority=1)]
    r = build(routes, http, metrics)

    response = await r.complete(HELLO)

    assert (response.text, response.route) == ("quick answer", "quick")
    assert (
        sample(metrics, "parley_llm_requests_total", provider="slow", model="fake-model", outcome="timeout")
        == 1
    )


async def test_fatal_answer_falls_back_without_retry(fake_server, http, metrics) -> None:
    primary = fake_server("openai")
    backup = fake_server("openai", text="ok")
    primary.fail(status=401, times=5)
    sleep = SleepRecorder()
    routes = [route_for(primary, "primary", retries=3), route_for(backup, "backup", priority=1)]
    r = build(routes, http, metrics, sleep=sleep)

    assert (await r.complete(HELLO)).route == "backup"
    assert len(primary.requests) == 1  # 401 is not retried on the same route
    assert sleep.delays == []


async def test_retries_with_growing_jittered_backoff(fake_server, http, metrics) -> None:
    srv = fake_server("openai", text="third time lucky")
    srv.fail(status=503, times=2)
    sleep = SleepRecorder()
    r = build([route_for(srv, "main", retries=2)], http, metrics, sleep=sleep)

    response = await r.complete(HELLO)

    assert response.text == "third time lucky"
    assert len(srv.requests) == 3
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= router.BACKOFF_BASE_SECONDS
    assert 0 <= sleep.delays[1] <= 2 * router.BACKOFF_BASE_SECONDS


async def test_everything_failing_raises_no_route_error_without_keys(fake_server, http, metrics) -> None:
    a = fake_server("openai", api_key="sk-other")
    b = fake_server("gemini")
    b.fail(status=500, times=3)
    r = build([route_for(a, "a"), route_for(b, "b", priority=1)], http, metrics)

    with pytest.raises(errors.NoRouteError) as caught:
        await r.complete(HELLO)

    message = str(caught.value)
    assert "route a: HTTP 401" in message and "route b: HTTP 500" in message
    assert key_for("a") not in message and key_for("b") not in message
    assert [f.route for f in caught.value.failures] == ["a", "b"]


async def test_circuit_opens_stays_open_then_half_opens_and_closes(fake_server, http, metrics, clock) -> None:
    primary = fake_server("openai", text="primary is back")
    backup = fake_server("openai", text="backup")
    primary.fail(status=500, times=100)
    routes = [route_for(primary, "primary"), route_for(backup, "backup", priority=1)]
    r = build(routes, http, metrics, clock=clock, circuitBreaker={"failureThreshold": 2, "cooldown": "30s"})
    up = {"provider": "primary"}

    for _ in range(2):
        assert (await r.complete(HELLO)).route == "backup"
    assert r.circuit_state("primary") is State.OPEN
    assert sample(metrics, "parley_provider_up", **up) == 0

    clock.advance(29)  # still cooling down: the primary gets no traffic at all
    for _ in range(3):
        assert (await r.complete(HELLO)).route == "backup"
    assert len(primary.requests) == 2

    clock.advance(2)  # cooldown over: one probe goes through, fails, and re-opens the circuit
    assert r.circuit_state("primary") is State.HALF_OPEN
    assert (await r.complete(HELLO)).route == "backup"
    assert len(primary.requests) == 3
    assert r.circuit_state("primary") is State.OPEN

    primary.clear()
    clock.advance(31)  # next probe succeeds and closes the circuit
    response = await r.complete(HELLO)
    assert (response.route, response.text) == ("primary", "primary is back")
    assert r.circuit_state("primary") is State.CLOSED
    assert sample(metrics, "parley_provider_up", **up) == 1
    assert (await r.complete(HELLO)).route == "primary"


async def test_open_circuit_on_the_only_route_fails_fast(fake_server, http, metrics, clock) -> None:
    srv = fake_server("openai")
    srv.fail(status=500, times=10)
    r = build([route_for(srv, "only")], http, metrics, clock=clock, circuitBreaker={"failureThreshold": 1})
    with pytest.raises(errors.NoRouteError):
        await r.complete(HELLO)
    with pytest.raises(errors.NoRouteError, match="open circuit"):
        await r.complete(HELLO)
    assert len(srv.requests) == 1


async def test_request_specific_400_does_not_open_the_circuit(fake_server, http, metrics, clock) -> None:
    srv = fake_server("openai")
    srv.fail(status=400, times=3)
    r = build([route_for(srv, "main")], http, metrics, clock=clock, circuitBreaker={"failureThreshold": 1})
    for _ in range(3):
        with pytest.raises(errors.NoRouteError, match="HTTP 400"):
            await r.complete(HELLO)
    assert r.circuit_state("main") is State.CLOSED
    assert (await r.complete(HELLO)).route == "main"


def echo_route(name: str, **fields) -> ModelRoute:
    return ModelRoute.model_validate({"name": name, "provider": "echo", "model": f"echo-{name}", **fields})


async def test_weights_split_traffic_70_30(http, metrics) -> None:
    routes = [echo_route("seventy", weight=70), echo_route("thirty", weight=30)]
    r = build(routes, http, metrics, seed=2026)
    for _ in range(2000):
        await r.complete(HELLO)
    usage = r.usage()
    assert usage["seventy"].requests + usage["thirty"].requests == 2000
    assert abs(usage["seventy"].requests / 2000 - 0.70) <= 0.05
    assert abs(usage["thirty"].requests / 2000 - 0.30) <= 0.05


async def test_weight_zero_is_a_standby_within_its_priority(fake_server, http, metrics) -> None:
    main = fake_server("openai", text="main")
    standby = fake_server("openai", text="standby")
    routes = [route_for(main, "main", weight=100), route_for(standby, "standby", weight=0)]
    r = build(routes, http, metrics)
    assert {(await r.complete(HELLO)).route for _ in range(20)} == {"main"}
    main.fail(status=500)
    assert (await r.complete(HELLO)).route == "standby"


async def test_capabilities_route_images_and_tools(fake_server, http, metrics) -> None:
    text_srv = fake_server("openai", text="text")
    vision_srv = fake_server("gemini", text="I see a cat")
    tools_srv = fake_server("anthropic", text="tools ready")
    routes = [
        route_for(text_srv, "text"),
        route_for(vision_srv, "vision", priority=1, capabilities=["vision"]),
        route_for(tools_srv, "tools", priority=2, capabilities=["tools"]),
    ]
    r = build(routes, http, metrics)
    image = ChatRequest(messages=(ChatMessage(role="user", content="?", images=("https://x.test/cat.png",)),))
    with_tools = HELLO.model_copy(update={"tools": (ToolSpec(name="weather"),)})

    assert (await r.complete(image)).route == "vision"
    assert (await r.complete(with_tools)).route == "tools"
    assert (await r.complete(HELLO)).route == "text"
    assert (len(text_srv.requests), len(vision_srv.requests), len(tools_srv.requests)) == (1, 1, 1)

    # tools are optional: no route has vision and tools, so the vision route answers without them
    both = image.model_copy(update={"tools": (ToolSpec(name="weather"),)})
    assert (await r.complete(both)).route == "vision"
    assert "tools" not in vision_srv.requests[-1].body

    long = HELLO.model_copy(update={"capabilities": frozenset({"long-context"})})
    with pytest.raises(errors.NoRouteError, match="no route offers long-context"):
        await r.complete(long)


async def test_usage_and_cost_are_counted_per_route(fake_server, http, metrics) -> None:
    a = fake_server("openai")
    b = fake_server("anthropic")
    a.push(Reply(usage=(1000, 500)), Reply(usage=(3000, 1500)))
    b.push(Reply(usage=(200, 100)))
    pricing = {"inputPerMillion": 1.0, "outputPerMillion": 2.0}
    routes = [route_for(a, "a", pricing=pricing), route_for(b, "b", priority=1)]
    r = build(routes, http, metrics)

    await r.complete(HELLO)
    chunks = [c async for c in r.stream(HELLO)]
    assert chunks[-1].route == "a"
    a.fail(status=500)
    await r.complete(HELLO)  # served by b

    usage = r.usage()
    assert (usage["a"].requests, usage["a"].failures) == (2, 1)
    assert (usage["a"].prompt_tokens, usage["a"].completion_tokens) == (4000, 2000)
    assert usage["a"].cost == pytest.approx((4000 * 1.0 + 2000 * 2.0) / 1e6)
    assert (usage["b"].requests, usage["b"].prompt_tokens, usage["b"].cost) == (1, 200, 0.0)
    tokens = "parley_llm_tokens_total"
    assert sample(metrics, tokens, route="a", model="fake-model", kind="prompt") == 4000
    assert sample(metrics, tokens, route="a", model="fake-model", kind="completion") == 2000
    assert sample(metrics, "parley_llm_cost_total", route="a", model="fake-model") == pytest.approx(0.008)
    assert sample(metrics, "parley_llm_seconds_count", provider="a", model="fake-model") == 3


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_streaming_through_the_router(kind, fake_server, http, metrics) -> None:
    srv = fake_server(kind, text="streamed end to end")
    r = build([route_for(srv, "main")], http, metrics)
    chunks = [c async for c in r.stream(HELLO)]
    assert "".join(c.delta for c in chunks) == "streamed end to end"
    assert [c.delta for c in chunks] == ["streamed ", "end ", "to ", "end", ""]
    assert r.usage()["main"].requests == 1
    assert r.usage()["main"].completion_tokens == 4  # the fake counts one token per word


@pytest.mark.parametrize("failure", ["status", "hang"])
async def test_stream_falls_back_before_the_first_chunk(failure, fake_server, http, metrics) -> None:
    primary = fake_server("anthropic")
    backup = fake_server("gemini", text="backup streams")
    if failure == "status":
        primary.fail(status=529)
    else:
        primary.hang(seconds=30)
    routes = [route_for(primary, "primary", timeout="300ms"), route_for(backup, "backup", priority=1)]
    r = build(routes, http, metrics)

    chunks = [c async for c in r.stream(HELLO)]

    assert "".join(c.delta for c in chunks) == "backup streams"
    assert {c.route for c in chunks} == {"backup"}


async def test_stream_never_switches_route_after_the_first_chunk(fake_server, http, metrics) -> None:
    primary = fake_server("openai", text="one two three four")
    backup = fake_server("openai", text="backup")
    primary.push(Reply(break_after=2))
    r = build([route_for(primary, "primary"), route_for(backup, "backup", priority=1)], http, metrics)

    received: list[str] = []
    with pytest.raises(errors.ProviderError) as caught:
        async for chunk in r.stream(HELLO):
            received.append(chunk.delta)

    assert received == ["one ", "two "]
    assert caught.value.route == "primary"
    assert len(backup.requests) == 0
    assert r.usage()["primary"].failures == 1


async def test_stream_closed_early_by_the_caller_counts_as_served(fake_server, http, metrics) -> None:
    srv = fake_server("openai", text="a b c d e")
    r = build([route_for(srv, "main")], http, metrics)
    stream = r.stream(HELLO)
    first = await anext(stream)
    await stream.aclose()
    assert first.delta == "a "
    assert r.usage()["main"].requests == 1
    assert r.circuit_state("main") is State.CLOSED


async def test_active_probe_opens_and_closes_circuits(fake_server, http, metrics, clock) -> None:
    srv = fake_server("openai")
    srv.fail(status=500, times=1)
    r = build([route_for(srv, "main")], http, metrics, clock=clock, circuitBreaker={"failureThreshold": 1})

    assert await r.probe_once() == {"main": False}
    assert r.circuit_state("main") is State.OPEN
    assert await r.probe_once() == {"main": True}  # recovery seen before the cooldown ends
    assert r.circuit_state("main") is State.CLOSED
    assert srv.requests[-1].body["max_tokens"] == 1
    assert sample(metrics, "parley_provider_up", provider="main") == 1


async def test_start_runs_the_probe_every_interval_until_aclose(fake_server, http, metrics) -> None:
    srv = fake_server("openai")
    ticks: list[float] = []

    async def sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) > 3:
            await asyncio.Event().wait()  # park the loop: three probes are enough to see

    r = build([route_for(srv, "main")], http, metrics, sleep=sleep, healthCheck={"interval": "15s"})
    await r.start()
    for _ in range(200):
        if len(ticks) > 3:
            break
        await asyncio.sleep(0.01)
    await r.aclose()

    assert ticks[:3] == [15.0, 15.0, 15.0]
    assert len(srv.requests) == 3


async def test_no_probe_task_without_interval(fake_server, http, metrics) -> None:
    srv = fake_server("openai")
    r = build([route_for(srv, "main")], http, metrics)
    await r.start()
    await asyncio.sleep(0.05)
    await r.aclose()
    assert srv.requests == []
