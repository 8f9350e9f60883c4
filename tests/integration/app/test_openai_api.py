"""The OpenAI-compatible endpoint (SPEC §14), with the official `openai` SDK as the client.

The real `parley serve` app runs in process (lifespan, SQLite, plugins folder), reached through the
SDK's own HTTP client over an ASGI transport; the models behind it are fake OpenAI servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from factories import chatbot_doc, dump_yaml
from fakes.llm_servers import FakeOpenAI, key_for
from fakes.llm_servers import Reply as Scripted
from fakes.served import serve
from integration.webhooks.harness import eventually
from lazy_import import lazy_import
from parley_runtime.app import bootstrap, routes_openai
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

openai = lazy_import("openai")  # ~0.5 s to import: paid when these tests run

BOT = "demo"
TOKEN = "sk-parley-test-token"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()

PLUGINS = {
    "chart.py": """
import asyncio
import base64
from parley_runtime.plugins.api import Answer, Image, Plugin

plugin = Plugin("chart")

@plugin.command("chart")
def chart(ctx, args):
    return Answer("Here is your **chart**", images=[Image(base64.b64decode({png!r}), "image/png")])
""",
    "weather.py": """
from parley_runtime.plugins.api import Plugin

plugin = Plugin("weather")

@plugin.tool("weather", description="today's weather in a city",
             parameters={"type": "object", "properties": {"city": {"type": "string"}}})
async def weather(ctx, city):
    return f"sunny in {city}"
""",
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="a cat on a mat") as srv:
        yield srv


def route(fake: FakeOpenAI, *capabilities: str) -> dict[str, Any]:
    return {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "capabilities": list(capabilities),
        "retries": 0,
        "timeout": "5s",
    }


def bot(fake: FakeOpenAI, *capabilities: str, **spec: Any) -> dict[str, Any]:
    return chatbot_doc(
        BOT,
        models={"routes": [route(fake, *capabilities)]},
        persona={"systemPrompt": "You are Demo."},
        api={"token": {"secretKeyRef": {"name": "api", "key": "token"}}},
        **spec,
    )


@contextlib.asynccontextmanager
async def parley(tmp_path: Path, doc: dict[str, Any], **settings: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """The real `parley serve` app with its lifespan running, as an HTTP client of the SDK's kind."""
    (tmp_path / "bot.yaml").write_text(dump_yaml(doc))
    for key_path, value in {"llm/main": key_for("main"), "api/token": TOKEN}.items():
        (tmp_path / "secrets" / key_path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "secrets" / key_path).write_text(value)
    (tmp_path / "plugins").mkdir(exist_ok=True)
    for name, source in PLUGINS.items():
        (tmp_path / "plugins" / name).write_text(
            source.replace("{png!r}", repr(base64.b64encode(PNG).decode()))
        )
    runtime = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        plugins_dir=tmp_path / "plugins",
        role="serve",
        **settings,
    )
    app = create_app(bootstrap.load(runtime))
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://parley.test") as http:
            yield http


def sdk(http: httpx2.AsyncClient, token: str = TOKEN) -> openai.AsyncOpenAI:
    # No retries: a 429 or 5xx must surface at once, not after the SDK's back-off.
    return openai.AsyncOpenAI(
        api_key=token, base_url="http://parley.test/v1", http_client=http, max_retries=0
    )


@contextlib.asynccontextmanager
async def client(tmp_path: Path, doc: dict[str, Any], **settings: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    async with parley(tmp_path, doc, **settings) as http:
        yield sdk(http)


def sent(fake: FakeOpenAI, index: int = -1) -> list[tuple[str, Any]]:
    """(role, content) of each message the model received in request `index`."""
    return [(m["role"], m["content"]) for m in fake.requests[index].body["messages"]]


def user_texts(fake: FakeOpenAI, index: int = -1) -> list[str]:
    texts: list[str] = []
    for role, content in sent(fake, index):
        if role == "user":
            parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
            texts.extend(p["text"] for p in parts if p.get("type") == "text")
    return texts


# --- answers ------------------------------------------------------------------------------------------


async def test_a_completion_is_the_bots_answer_with_the_models_usage(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    fake.push(Scripted(usage=(42, 5)))
    async with client(tmp_path, bot(fake)) as ai:
        done = await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "hi there"}])
    assert done.object == "chat.completion" and done.id.startswith("chatcmpl-")
    assert done.model == BOT and done.system_fingerprint == "stable" and done.created > 0
    (choice,) = done.choices
    assert choice.message.role == "assistant" and choice.message.content == "a cat on a mat"
    assert choice.finish_reason == "stop"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (42, 5, 47)
    # The persona goes first; the model behind is the route's, not the bot's name.
    assert sent(fake) == [("system", "You are Demo."), ("user", "hi there")]
    assert fake.requests[-1].body["model"] == fake.model


async def test_streaming_sends_chunks_whose_deltas_make_the_reply(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.push(Scripted(usage=(12, 4)))
    async with client(tmp_path, bot(fake)) as ai:
        stream = await ai.chat.completions.create(
            model=BOT,
            messages=[{"role": "user", "content": "stream it"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        plain = await ai.chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "again"}], stream=True
        )
        without_usage = [c async for c in plain]
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len([d for d in deltas if d]) > 1 and "".join(deltas) == "a cat on a mat"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (12, 4, 16)
    assert all(c.usage is None for c in without_usage)
    assert "".join(c.choices[0].delta.content or "" for c in without_usage) == "a cat on a mat"


async def test_the_stream_is_sse_ending_with_done(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with parley(tmp_path, bot(fake)) as http:
        r = await http.post(
            "/v1/chat/completions",
            json={"model": BOT, "messages": [{"role": "user", "content": "hi"}], "stream": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    frames = [line for line in r.text.split("\n\n") if line]
    assert frames[-1] == "data: [DONE]"
    assert all(json.loads(f[len("data: ") :])["model"] == BOT for f in frames[:-1])


async def test_temperature_and_max_tokens_reach_the_model(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as ai:
        await ai.chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "hi"}], temperature=0.2, max_completion_tokens=64
        )
        await ai.chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "hi"}], max_tokens=9
        )
    assert (fake.requests[0].body["temperature"], fake.requests[0].body["max_tokens"]) == (0.2, 64)
    assert fake.requests[1].body["max_tokens"] == 9 and "temperature" not in fake.requests[1].body


# --- the conversation ---------------------------------------------------------------------------------


async def test_the_clients_history_reaches_the_model_in_order_and_is_not_stored(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": "my name?"}],
        },
    ]
    async with client(tmp_path, bot(fake)) as ai:
        await ai.chat.completions.create(model=BOT, messages=history)
        await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "fresh start"}])
    assert sent(fake, 0) == [
        ("system", "You are Demo."),
        ("system", "Be brief."),
        ("user", "My name is Ada."),
        ("assistant", "Hello Ada."),
        ("user", "What is\nmy name?"),
    ]
    # Nothing was kept: the next conversation is only what its client sent.
    assert sent(fake, 1) == [("system", "You are Demo."), ("user", "fresh start")]


async def test_tool_calls_in_the_clients_history_travel_as_tool_calls(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    call = {"id": "call_7", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
    async with client(tmp_path, bot(fake)) as ai:
        await ai.chat.completions.create(
            model=BOT,
            messages=[
                {"role": "developer", "content": "Use tools."},
                {"role": "user", "content": "look x up"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_7", "content": "x is 42"},
                {"role": "user", "content": "so?"},
            ],
        )
    messages = fake.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "system", "user", "assistant", "tool", "user"]
    assert messages[3]["tool_calls"][0]["id"] == "call_7"
    assert messages[3]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert (messages[4]["tool_call_id"], messages[4]["content"]) == ("call_7", "x is 42")


async def test_user_names_a_parley_session_that_continues_across_calls(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    async with parley(tmp_path, bot(fake)) as http:
        ai = sdk(http)
        await ai.chat.completions.create(
            model=BOT, user="alice", messages=[{"role": "user", "content": "I am Alice"}]
        )
        # The earlier messages a client sends are not read: the session is the history.
        await ai.chat.completions.create(
            model=BOT,
            user="alice",
            messages=[
                {"role": "user", "content": "something the client remembers"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "who am I?"},
            ],
        )
        stream = await ai.chat.completions.create(
            model=BOT, user="alice", messages=[{"role": "user", "content": "still me?"}], stream=True
        )
        _ = [c async for c in stream]
        await ai.chat.completions.create(
            model=BOT, user="bob", messages=[{"role": "user", "content": "hello"}]
        )
        # The same session as the chat API's for that user_id.
        chat = await http.post(
            "/api/v1/chat",
            json={"message": "and via the chat API?", "user_id": "alice"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert chat.status_code == 200
    assert user_texts(fake, 1) == ["I am Alice", "who am I?"]
    assert user_texts(fake, 2) == ["I am Alice", "who am I?", "still me?"]
    assert user_texts(fake, 3) == ["hello"]
    assert user_texts(fake, 4) == ["I am Alice", "who am I?", "still me?", "and via the chat API?"]
    assert [m for m in sent(fake, 2) if m[0] == "assistant"] == [("assistant", "a cat on a mat")] * 2


async def test_an_image_of_the_new_turn_reaches_a_vision_route(tmp_path: Path, fake: FakeOpenAI) -> None:
    picture_host, fetched = image_host()
    with picture_host as url:
        async with client(tmp_path, bot(fake, "vision"), media_private_urls=True) as ai:
            await ai.chat.completions.create(
                model=BOT,
                messages=[
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]},
                    {"role": "assistant", "content": "a pixel"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "and these?"},
                            {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
                            {"type": "image_url", "image_url": {"url": url}},
                        ],
                    },
                ],
            )
    body = fake.requests[-1].body
    first, answer, last = body["messages"][1:]
    assert first == {
        "role": "user",
        "content": "[image]",
    }  # earlier pictures: a marker, as sessions keep them
    assert answer == {"role": "assistant", "content": "a pixel"}
    assert [p["image_url"]["url"] for p in last["content"] if p["type"] == "image_url"] == [PNG_URL, PNG_URL]
    assert [p["text"] for p in last["content"] if p["type"] == "text"] == ["and these?"]
    assert len(fetched) == 1  # the URL was fetched by Parley, once


def image_host() -> tuple[contextlib.AbstractContextManager[str], list[bytes]]:
    fetched: list[bytes] = []

    async def cat(request: Request) -> Response:
        fetched.append(b"")
        return Response(PNG, media_type="image/png")

    @contextlib.contextmanager
    def hosting() -> Iterator[str]:
        with serve(Starlette(routes=[Route("/cat.png", cat)])) as base:
            yield f"{base}/cat.png"

    return hosting(), fetched


async def test_an_image_without_a_vision_route_is_a_400(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as ai:
        with pytest.raises(openai.BadRequestError) as caught:
            await ai.chat.completions.create(
                model=BOT,
                messages=[
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]}
                ],
            )
    assert "no model for images" in caught.value.message and fake.requests == []


# --- the bot's own behaviour --------------------------------------------------------------------------


async def test_plugin_commands_answer_without_the_model(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake, plugins=[{"name": "chart"}])) as ai:
        done = await ai.chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "/chart"}], stream_options=None
        )
        stream = await ai.chat.completions.create(
            model=BOT,
            messages=[{"role": "user", "content": "/chart"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    assert done.choices[0].message.content == "Here is your **chart**"  # the picture is left out
    assert done.usage is not None and done.usage.total_tokens == 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Here is your **chart**"
    assert fake.requests == []


async def test_the_bots_tools_run_inside_parley(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.call_tool("weather", {"city": "Paris"})
    async with client(tmp_path, bot(fake, "tools", plugins=[{"name": "weather"}])) as ai:
        done = await ai.chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "weather in Paris?"}]
        )
    assert done.choices[0].message.content == "a cat on a mat"
    assert [t["function"]["name"] for t in fake.requests[0].body["tools"]] == ["weather"]
    tool_results = [m for m in fake.requests[1].body["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["sunny in Paris"]
    assert done.usage is not None and done.usage.prompt_tokens == 20  # both rounds counted


# --- errors -------------------------------------------------------------------------------------------


async def test_an_unknown_model_is_not_found(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as ai:
        with pytest.raises(openai.NotFoundError) as caught:
            await ai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.NotFoundError) as by_path:
            await ai.models.retrieve("openai/gpt-4o")
    assert caught.value.code == "model_not_found" and "gpt-4o" in caught.value.message
    assert caught.value.body == {
        "message": "The model `gpt-4o` does not exist; this bot is `demo`",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert by_path.value.code == "model_not_found"
    assert fake.requests == []


async def test_a_wrong_or_missing_token_is_an_authentication_error(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with parley(tmp_path, bot(fake)) as http:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk(http, "sk-wrong").chat.completions.create(
                model=BOT, messages=[{"role": "user", "content": "hi"}]
            )
        with pytest.raises(openai.AuthenticationError):
            await sdk(http, "sk-wrong").models.list()
        bare = await http.post("/v1/chat/completions", json={"model": BOT, "messages": []})
    assert caught.value.code == "invalid_api_key" and TOKEN not in caught.value.message
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert set(bare.json()["error"]) == {"message", "type", "param", "code"}
    assert fake.requests == []


async def test_over_the_rate_limit_is_a_rate_limit_error_with_retry_after(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    doc = bot(fake, rateLimit={"perUserPerMinute": 2})
    async with client(tmp_path, doc) as ai:
        for _ in range(2):
            await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as caught:
            await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError):  # streamed: refused before the stream starts
            await ai.chat.completions.create(
                model=BOT, messages=[{"role": "user", "content": "hi"}], stream=True
            )
        # Another user has its own allowance.
        await ai.chat.completions.create(
            model=BOT, user="carol", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "rate_limit_exceeded"
    assert int(caught.value.response.headers["retry-after"]) > 0
    assert len(fake.requests) == 3


async def test_over_the_daily_budget_is_insufficient_quota_and_the_model_is_not_asked(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    fake.push(Scripted(usage=(1990, 5)))  # the first answer spends nearly all of the day's tokens
    doc = bot(fake, budget={"perUserDaily": {"tokens": 2000}, "reply": "Enough for today."})
    doc["spec"]["models"]["routes"][0]["maxTokens"] = 16
    async with client(tmp_path, doc) as ai:
        await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as caught:
            await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "more"}])
        with pytest.raises(openai.RateLimitError):
            await ai.chat.completions.create(
                model=BOT, messages=[{"role": "user", "content": "more"}], stream=True
            )
    assert caught.value.code == "insufficient_quota" and "Enough for today." in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(fake.requests) == 1


async def test_a_failed_model_is_a_server_error_not_an_answer(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.fail(status=500, times=2)
    async with client(tmp_path, bot(fake)) as ai:
        with pytest.raises(openai.InternalServerError) as plain:
            await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.InternalServerError):
            await ai.chat.completions.create(
                model=BOT, messages=[{"role": "user", "content": "hi"}], stream=True
            )
    assert plain.value.status_code == 502 and plain.value.code == "upstream_error"


async def test_past_the_in_flight_bound_the_503_is_in_openais_shape(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.hang(seconds=3.0)
    async with client(tmp_path, bot(fake), max_in_flight=1) as ai:
        first = asyncio.create_task(
            ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "slow"}])
        )
        await eventually(lambda: len(fake.requests) == 1)  # in flight, at the model
        with pytest.raises(openai.InternalServerError) as caught:
            await ai.chat.completions.create(model=BOT, messages=[{"role": "user", "content": "one more"}])
        slow = await first
    assert caught.value.status_code == 503 and caught.value.code == "overloaded"
    assert caught.value.response.headers["retry-after"] == "1"
    assert slow.choices[0].message.content == "a cat on a mat"  # the first one finished normally


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model: Field required"),
        ({"model": BOT, "messages": []}, "messages: List should have at least 1 item"),
        (
            {"model": BOT, "messages": [{"role": "robot", "content": "hi"}]},
            "messages.0.role: Input should be",
        ),
        (
            {"model": BOT, "messages": [{"role": "assistant", "content": "hi"}]},
            "the last message must be the user's",
        ),
        ({"model": BOT, "messages": [{"role": "user", "content": ""}]}, "neither text nor images"),
        (
            {"model": BOT, "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "messages.0.content.0: content parts of type input_audio are not supported",
        ),
        (
            {
                "model": BOT,
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": "ftp://x/a.png"}]}
                ],
            },
            "messages.0.content.0.image_url: url must be an http:// or https:// URL",
        ),
        (
            {
                "model": BOT,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,%%"}}],
                    }
                ],
            },
            "messages.0.content.0.image_url: data is not valid base64",
        ),
        (
            {
                "model": BOT,
                "messages": [{"role": "tool", "content": "42"}, {"role": "user", "content": "hi"}],
            },
            "messages.0: a tool message needs the tool_call_id it answers",
        ),
        ({"model": BOT, "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n: only one choice"),
        (
            {"model": BOT, "messages": [{"role": "user", "content": "hi"}], "temperature": 3},
            "temperature: Input should be less than or equal to 2",
        ),
    ],
)
async def test_a_malformed_body_is_one_readable_400(
    tmp_path: Path, fake: FakeOpenAI, body: dict[str, Any], problem: str
) -> None:
    async with parley(tmp_path, bot(fake)) as http:
        r = await http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and problem in error["message"], error
    assert fake.requests == []


async def test_broken_json_and_unknown_fields(tmp_path: Path, fake: FakeOpenAI) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    async with parley(tmp_path, bot(fake)) as http:
        broken = await http.post("/v1/chat/completions", content=b"{nope", headers=auth)
        extra = await http.post(
            "/v1/chat/completions",
            json={
                "model": BOT,
                "messages": [{"role": "user", "content": "hi", "name": "ada"}],
                "frequency_penalty": 0.5,
                "tools": [],
                "seed": 7,
            },
            headers=auth,
        )
    assert broken.status_code == 400 and broken.json()["error"]["message"] == "invalid JSON"
    assert extra.status_code == 200 and extra.json()["choices"][0]["message"]["content"] == "a cat on a mat"


async def test_a_body_over_the_limit_is_a_413(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, "vision", media={"maxImageBytes": 1024})
    big = "data:image/png;base64," + base64.b64encode(PNG + bytes(2048)).decode()
    async with parley(tmp_path, doc) as http:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        huge = await http.post(
            "/v1/chat/completions",
            content=b'{"model": "demo", "x": "' + b"A" * (1 << 21) + b'"}',
            headers=auth,
        )
        image = await http.post(
            "/v1/chat/completions",
            json={
                "model": BOT,
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}}]}],
            },
            headers=auth,
        )
    assert huge.status_code == 413 and "body too large" in huge.json()["error"]["message"]
    assert (
        image.status_code == 413
        and image.json()["error"]["message"] == "image 1 is 2.1 KiB; the limit is 1 KiB"
    )
    assert fake.requests == []


# --- models -------------------------------------------------------------------------------------------


async def test_models_lists_the_bot(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as ai:
        listed = [m async for m in ai.models.list()]
        one = await ai.models.retrieve(BOT)
    assert [(m.id, m.object, m.owned_by) for m in listed] == [(BOT, "model", "parley")]
    assert one.id == BOT and one.created == listed[0].created > 0


async def test_without_an_api_token_anyone_may_call(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = chatbot_doc(BOT, models={"routes": [route(fake)]})
    async with parley(tmp_path, doc) as http:
        done = await sdk(http, "anything").chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "hi"}]
        )
    assert done.choices[0].message.content == "a cat on a mat"


async def test_the_routes_are_in_the_openapi_document(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with parley(tmp_path, bot(fake)) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/v1/models/{model}"} <= set(paths)
    body = paths["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(routes_openai.wire.CompletionBody.model_fields)
