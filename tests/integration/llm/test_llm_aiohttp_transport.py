"""The aiohttp-backed httpx transport behaves like httpx's own for every provider path, and so does
the direct path `SharedClient` takes for whole answers."""

import email.utils
import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from fakes.llm_servers import FakeOpenAI, Reply, route_for
from parley_runtime.core.chat import ChatMessage, ChatRequest
from parley_runtime.llm import errors, providers
from parley_runtime.llm.aiohttp_transport import AiohttpTransport, SharedClient

HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))


@pytest.fixture(params=["transport", "shared-client"])
async def fast_http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    client = (
        SharedClient()
        if request.param == "shared-client"
        else httpx.AsyncClient(transport=AiohttpTransport())
    )
    async with client:
        yield client


def _completion(text: str) -> bytes:
    return json.dumps(
        {
            "model": "m",
            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
    ).encode()


@pytest.fixture
async def raw_server() -> AsyncIterator[str]:
    """A real aiohttp server answering by path: compressed bodies, and a 429 and a 503 with Retry-After
    (delta-seconds and HTTP-date)."""

    async def gzipped(request: web.Request) -> web.Response:
        assert "gzip" in request.headers.get("accept-encoding", "")
        body = gzip.compress(_completion("unzipped"))
        return web.Response(
            body=body, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )

    async def deflated(request: web.Request) -> web.Response:
        body = zlib.compress(_completion("inflated"))
        return web.Response(
            body=body, headers={"content-encoding": "deflate", "content-type": "application/json"}
        )

    async def limited(request: web.Request) -> web.Response:
        error = {"error": {"message": "slow down, key sk-secret"}}
        return web.json_response(error, status=429, headers={"retry-after": "2"})

    async def overloaded(request: web.Request) -> web.Response:
        until = email.utils.formatdate(time.time() + 30, usegmt=True)
        return web.json_response(
            {"error": {"message": "overloaded"}}, status=503, headers={"Retry-After": until}
        )

    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=b"\x1f\x8bnot gzip", headers={"content-encoding": "gzip"})

    app = web.Application()
    handlers = {
        "gzip": gzipped,
        "deflate": deflated,
        "limited": limited,
        "overloaded": overloaded,
        "broken": broken,
    }
    for name, handler in handlers.items():
        app.router.add_post(f"/{name}/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _route(base: str) -> object:
    from parley_runtime.config.models import ModelRoute

    return ModelRoute.model_validate(
        {"name": "main", "provider": "openai-compatible", "model": "m", "baseURL": base}
    )


@pytest.mark.parametrize(("path", "text"), [("gzip", "unzipped"), ("deflate", "inflated")])
async def test_direct_path_decodes_compressed_answers(raw_server, path, text) -> None:
    async with SharedClient() as http:
        model = providers.create_provider(_route(f"{raw_server}/{path}"), "k", http)  # type: ignore[arg-type]
        assert (await model.complete(HELLO)).text == text


async def test_direct_path_keeps_retry_after_and_scrubs_the_key(raw_server) -> None:
    async with SharedClient() as http:
        model = providers.create_provider(_route(f"{raw_server}/limited"), "sk-secret", http)  # type: ignore[arg-type]
        with pytest.raises(errors.RetryableError) as caught:
            await model.complete(HELLO)
    assert caught.value.status == 429 and caught.value.retry_after == 2.0
    assert "sk-secret" not in str(caught.value) and "[redacted]" in str(caught.value)


async def test_direct_path_honours_a_retry_after_http_date(raw_server) -> None:
    async with SharedClient() as http:
        model = providers.create_provider(_route(f"{raw_server}/overloaded"), "k", http)  # type: ignore[arg-type]
        with pytest.raises(errors.RetryableError) as caught:
            await model.complete(HELLO)
    assert caught.value.status == 503 and caught.value.retry_after is not None
    assert 25.0 < caught.value.retry_after <= 30.0


async def test_direct_path_refuses_an_undecodable_body_as_a_retryable_error(raw_server) -> None:
    async with SharedClient() as http:
        model = providers.create_provider(_route(f"{raw_server}/broken"), "k", http)  # type: ignore[arg-type]
        with pytest.raises(errors.RetryableError, match="DecodingError"):
            await model.complete(HELLO)


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
