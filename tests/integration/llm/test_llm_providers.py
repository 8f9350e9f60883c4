"""Each provider against its fake API: answers, streams, tool calls, error mapping, key hygiene."""

import json

import pytest

from fakes.llm_servers import FAKES, Reply, route_for
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolSpec
from parley_runtime.llm import errors, providers

KINDS = sorted(FAKES)
HELLO = ChatRequest(
    messages=(ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content="hello"))
)
WEATHER = ToolSpec(
    name="weather", description="today's weather", parameters={"type": "object", "properties": {}}
)


def key_header(kind: str, headers: dict[str, str]) -> str:
    return {
        "openai": headers.get("authorization", ""),
        "anthropic": headers.get("x-api-key", ""),
        "gemini": headers.get("x-goog-api-key", ""),
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
async def test_complete_returns_text_usage_and_route(kind, fake_server, http) -> None:
    srv = fake_server(kind, text="bonjour tout le monde", model="m-1")
    srv.push(Reply(usage=(12, 4)))
    model = providers.create_provider(route_for(srv, "main"), "sk-abc", http)

    response = await model.complete(HELLO)

    assert response.text == "bonjour tout le monde"
    assert (response.route, response.model) == ("main", "m-1")
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (12, 4)
    assert "sk-abc" in key_header(kind, srv.requests[0].headers)


@pytest.mark.parametrize("kind", KINDS)
async def test_system_prompt_travels_the_providers_way(kind, fake_server, http) -> None:
    srv = fake_server(kind)
    await providers.create_provider(route_for(srv, "main"), "k", http).complete(HELLO)
    body = srv.requests[0].body
    if kind == "openai":
        assert body["messages"][0] == {"role": "system", "content": "be brief"}
    elif kind == "anthropic":
        assert body["system"] == "be brief"
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert srv.requests[0].headers["anthropic-version"] == "2023-06-01"
    else:
        assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
        assert body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
        assert srv.requests[0].path == "/v1beta/models/fake-model:generateContent"


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_yields_words_then_usage(kind, fake_server, http) -> None:
    srv = fake_server(kind, text="one two three")
    srv.push(Reply(usage=(5, 3)))
    model = providers.create_provider(route_for(srv, "main"), "k", http)

    chunks = [c async for c in model.stream(HELLO)]

    assert [c.delta for c in chunks[:-1]] == ["one ", "two ", "three"]
    assert all(c.route == "main" for c in chunks)
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 3)
    if kind == "gemini":
        assert srv.requests[0].path.endswith(":streamGenerateContent")
        assert srv.requests[0].query == "alt=sse"
    elif kind == "openai":
        assert srv.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_calls_come_back_whole(kind, streaming, fake_server, http) -> None:
    srv = fake_server(kind)
    srv.call_tool("weather", {"city": "Paris", "unit": "C"})
    model = providers.create_provider(route_for(srv, "main"), "k", http)
    request = HELLO.model_copy(update={"tools": (WEATHER,)})

    if streaming:
        chunks = [c async for c in model.stream(request)]
        calls = [call for c in chunks for call in c.tool_calls]
    else:
        calls = list((await model.complete(request)).tool_calls)

    assert [c.name for c in calls] == ["weather"]
    assert json.loads(calls[0].arguments) == {"city": "Paris", "unit": "C"}
    assert calls[0].id
    sent = srv.requests[0].body
    tools = sent["tools"] if kind != "gemini" else sent["tools"][0]["functionDeclarations"]
    assert [t.get("name") or t["function"]["name"] for t in tools] == ["weather"]


@pytest.mark.parametrize("kind", KINDS)
async def test_images_are_sent_as_provider_content_parts(kind, fake_server, http) -> None:
    srv = fake_server(kind)
    image = "data:image/png;base64,iVBORw0KGgo="
    request = ChatRequest(messages=(ChatMessage(role="user", content="what is this?", images=(image,)),))
    await providers.create_provider(route_for(srv, "main"), "k", http).complete(request)
    body = srv.requests[0].body
    if kind == "openai":
        parts = body["messages"][0]["content"]
        assert {"type": "image_url", "image_url": {"url": image}} in parts
    elif kind == "anthropic":
        source = body["messages"][0]["content"][0]["source"]
        assert source == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    else:
        parts = body["contents"][0]["parts"]
        assert {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}} in parts


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "error"),
    [(500, errors.RetryableError), (429, errors.RetryableError), (400, errors.FatalError)],
)
async def test_statuses_map_to_retryable_or_fatal(kind, status, error, fake_server, http) -> None:
    srv = fake_server(kind)
    srv.fail(status=status, times=2)
    model = providers.create_provider(route_for(srv, "main"), "k", http)
    with pytest.raises(error, match=f"HTTP {status}"):
        await model.complete(HELLO)
    with pytest.raises(error, match=f"HTTP {status}"):
        [c async for c in model.stream(HELLO)]


@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_is_retryable_and_named(kind, fake_server, http) -> None:
    srv = fake_server(kind)
    srv.hang(seconds=10)
    model = providers.create_provider(route_for(srv, "main", timeout="200ms"), "k", http)
    with pytest.raises(errors.ProviderTimeout, match="timed out"):
        await model.complete(HELLO)


@pytest.mark.parametrize("kind", KINDS)
async def test_api_key_never_appears_in_errors(kind, fake_server, http) -> None:
    srv = fake_server(kind, api_key="sk-the-right-one")
    wrong = "sk-wrong-but-still-secret-123"
    model = providers.create_provider(route_for(srv, "main"), wrong, http)
    with pytest.raises(errors.FatalError) as caught:
        await model.complete(HELLO)
    assert caught.value.status == 401
    assert wrong not in str(caught.value)
    assert wrong not in repr(model)
    assert "[redacted]" in str(caught.value)  # the provider's text was kept, the key was not


async def test_connection_refused_is_retryable(http) -> None:
    from fakes.llm_servers import FakeOpenAI

    with FakeOpenAI() as srv:
        route = route_for(srv, "gone")
    model = providers.create_provider(route, "k", http)  # the server is stopped: nothing listens
    with pytest.raises(errors.RetryableError, match="connection error"):
        await model.complete(HELLO)


async def test_transport_error_while_streaming_is_a_provider_error(fake_server, http) -> None:
    srv = fake_server("openai", text="a b c d")
    srv.push(Reply(break_after=1))
    model = providers.create_provider(route_for(srv, "main"), "k", http)
    got: list[str] = []
    with pytest.raises(errors.ProviderError):
        async for chunk in model.stream(HELLO):
            got.append(chunk.delta)
    assert got == ["a "]


async def test_unreadable_answer_is_fatal(http) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from fakes.llm_servers import serve_app

    async def not_json(request):
        return PlainTextResponse("<html>gateway</html>")

    app = Starlette(routes=[Route("/v1/chat/completions", not_json, methods=["POST"])])
    with serve_app(app) as served:
        route = route_for(FAKES["openai"](), "main", baseURL=served.base + "/v1")
        with pytest.raises(errors.FatalError, match="not JSON"):
            await providers.create_provider(route, "k", http).complete(HELLO)
