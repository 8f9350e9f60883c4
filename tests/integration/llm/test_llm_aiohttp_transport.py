"""The aiohttp-backed httpx transport behaves like httpx's own for every provider path."""

from collections.abc import AsyncIterator

import httpx
import pytest

from fakes.llm_servers import FakeOpenAI, Reply, route_for
from parley_runtime.core.chat import ChatMessage, ChatRequest
from parley_runtime.llm import errors, providers
from parley_runtime.llm.aiohttp_transport import AiohttpTransport

HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))


@pytest.fixture
async def fast_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        yield client


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_complete_and_stream(kind, fake_server, fast_http) -> None:
    srv = fake_server(kind, text="over aiohttp")
    srv.push(Reply(usage=(3, 2)))
    model = providers.create_provider(route_for(srv, "main"), "sk-k", fast_http)

    response = await model.complete(HELLO)
    chunks = [c async for c in model.stream(HELLO)]

    assert response.text == "over aiohttp" and response.usage.prompt_tokens == 3
    assert "".join(c.delta for c in chunks) == "over aiohttp"
    assert srv.requests[0].body["contents" if kind == "gemini" else "messages"]


async def test_statuses_and_error_bodies_keep_their_meaning(fake_server, fast_http) -> None:
    srv = fake_server("openai")
    srv.fail(status=503)
    srv.fail(status=400)
    model = providers.create_provider(route_for(srv, "main"), "k", fast_http)
    with pytest.raises(errors.RetryableError, match=r"HTTP 503 from 127\.0\.0\.1: scripted failure"):
        await model.complete(HELLO)
    with pytest.raises(errors.FatalError, match="HTTP 400"):
        [c async for c in model.stream(HELLO)]


async def test_read_timeout_maps_to_provider_timeout(fake_server, fast_http) -> None:
    srv = fake_server("anthropic")
    srv.hang(seconds=30)
    model = providers.create_provider(route_for(srv, "main", timeout="200ms"), "k", fast_http)
    with pytest.raises(errors.ProviderTimeout):
        await model.complete(HELLO)


async def test_refused_connection_and_broken_stream_are_retryable(fast_http) -> None:
    with FakeOpenAI(text="a b c") as srv:
        srv.push(Reply(break_after=1))
        route = route_for(srv, "main")
        model = providers.create_provider(route, "k", fast_http)
        got: list[str] = []
        with pytest.raises(errors.RetryableError):
            async for chunk in model.stream(HELLO):
                got.append(chunk.delta)
        assert got == ["a "]
    with pytest.raises(errors.RetryableError, match="connection error"):
        await model.complete(HELLO)
