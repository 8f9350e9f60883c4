"""Pictures and voice through the real app (`parley serve` in process): the generic HTTP platform takes
them in, the engine fetches, routes and transcribes them, and fake model servers on 127.0.0.1 record
what they received; the reply reaches the caller's callback URL."""

import base64
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.http_api import RecordingApi, Reply, serve
from fakes.llm_servers import FakeAnthropic, FakeLLMServer, FakeOpenAI, key_for
from integration.webhooks.harness import eventually
from parley_runtime.app import bootstrap
from parley_runtime.app.components import Components
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings
from parley_runtime.core import media
from parley_runtime.engine.media import IMAGES_UNSUPPORTED

BINDING = "demo-http"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
OGG = b"OggS\x00\x02" + bytes(range(64))


def route(srv: FakeLLMServer, name: str, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": provider,
        "model": srv.model,
        "baseURL": srv.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": name}},
        "retries": 0,
        "timeout": "5s",
        **extra,
    }


@contextlib.asynccontextmanager
async def parley(
    tmp_path: Path, routes: list[dict[str, Any]], callback_base: str, **spec: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Components]]:
    """The real app with its lifespan running (engine worker included), and its components."""
    bot = chatbot_doc("demo", models={"routes": routes}, **spec)
    binding = binding_doc(BINDING, bot="demo", callbackUrl=f"{callback_base}/cb")
    (tmp_path / "bot.yaml").write_text(dump_yaml(bot, binding))
    for r in routes:
        (tmp_path / "secrets" / "llm").mkdir(parents=True, exist_ok=True)
        (tmp_path / "secrets" / "llm" / r["name"]).write_text(key_for(r["name"]))
    settings = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        role="serve",
        media_private_urls=True,  # the picture server of these tests is on 127.0.0.1
    )
    app = create_app(bootstrap.load(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
            yield client, app.state.components


@pytest.fixture
def receiver() -> Iterator[tuple[RecordingApi, str]]:
    api = RecordingApi()
    api.default("POST", "/cb", Reply(200, {"ok": True}))
    api.default("GET", "/big.png", Reply(200, "x" * 4000))
    with serve(api.app) as base:
        yield api, base


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAI, FakeAnthropic, FakeOpenAI]]:
    with (
        FakeOpenAI(text="plain answer", model="gpt-text") as text,
        FakeAnthropic(text="I see a **cat**", model="claude-vision") as vision,
        FakeOpenAI(model="speech-1") as speech,
    ):
        yield text, vision, speech


async def send(client: httpx.AsyncClient, n: int, message: str = "", **media_fields: Any) -> None:
    body = {"message": message, "user_id": "u-1", "message_id": f"m-{n}", **media_fields}
    accepted = await client.post(f"/webhook/http/{BINDING}", json=body)
    assert accepted.status_code == 202, accepted.text


async def reply_to(api: RecordingApi, n: int) -> dict[str, Any]:
    found = await eventually(lambda: [r for r in api.received("/cb") if r.json()["message_id"] == f"m-{n}"])
    return found[0].json()


async def metric(client: httpx.AsyncClient, outcome: str) -> str:
    text = (await client.get("/metrics")).text
    line = f'parley_messages_total{{outcome="{outcome}",platform="http",track="stable"}}'
    return next((row.split()[-1] for row in text.splitlines() if row.startswith(line)), "0")


async def test_image_and_voice_reach_the_models_and_the_answer_comes_back_with_voice(
    tmp_path: Path, receiver, servers
) -> None:
    api, base = receiver
    text, vision, speech = servers
    speech.transcript = "what is on the picture"
    routes = [
        route(text, "text", "openai-compatible", capabilities=["tools"]),
        route(vision, "vision", "anthropic", priority=1, capabilities=["vision"]),
        route(speech, "stt", "openai-compatible", capabilities=["stt"]),
        route(speech, "tts", "openai-compatible", capabilities=["tts"]),
    ]
    image = {"data": base64.b64encode(PNG).decode(), "mime_type": "image/png"}
    voice = {"data": base64.b64encode(OGG).decode(), "mime_type": "audio/ogg"}
    async with parley(tmp_path, routes, base, speech={"replyWithVoice": True, "voice": "nova"}) as (
        client,
        comps,
    ):
        await send(client, 1, "what is this?", images=[image])
        first = await reply_to(api, 1)
        await send(client, 2, "", audio=voice)
        second = await reply_to(api, 2)
        outbound = await comps.ledger.reply(f"http:{BINDING}:m-2")

    assert first["reply"] == "I see a **cat**"
    asked = vision.requests[0].body
    assert asked["messages"][-1]["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
        },
        {"type": "text", "text": "what is this?"},
    ]
    assert len(text.requests) == 1  # the text route answered the voice note only, never the image

    transcription = next(r for r in speech.requests if r.path == "/v1/audio/transcriptions")
    assert transcription.body["fields"] == {"model": "speech-1"}
    assert transcription.body["files"]["file"]["data"] == OGG
    assert transcription.body["files"]["file"]["filename"] == "audio.ogg"
    chat = text.requests[-1].body  # the voice note, as its transcript, to the text route with tools
    assert chat["messages"][-1] == {"role": "user", "content": "what is on the picture"}
    # The session keeps the picture as a marker, never its bytes.
    assert [m["content"] for m in chat["messages"] if m["role"] != "system"][:2] == [
        "[image] what is this?",
        "I see a **cat**",
    ]

    assert second["reply"] == "plain answer"
    spoken = next(r for r in speech.requests if r.path == "/v1/audio/speech")
    assert spoken.body == {
        "model": "speech-1",
        "input": "plain answer",
        "voice": "nova",
        "response_format": "opus",
    }
    assert outbound is not None and outbound.format == "markdown"
    (audio,) = outbound.attachments
    assert (audio.kind, audio.mime_type) == ("audio", "audio/ogg")
    assert media.decode_data_url(audio.url or "") == ("audio/ogg", FakeOpenAI.speech)


async def test_over_the_limit_and_without_a_vision_route_the_user_gets_a_short_reply(
    tmp_path: Path, receiver, servers
) -> None:
    api, base = receiver
    text, _, _ = servers
    routes = [route(text, "text", "openai-compatible")]
    async with parley(tmp_path, routes, base, media={"maxImageBytes": 1024}) as (client, _):
        await send(client, 1, "look", images=[{"url": f"{base}/big.png"}])
        unsupported = await reply_to(api, 1)
        await send(client, 2, "hello")
        assert (await reply_to(api, 2))["reply"] == "plain answer"
        counted = await metric(client, "unsupported")
    assert unsupported["reply"] == IMAGES_UNSUPPORTED and counted == "1.0"
    assert api.received("/big.png") == []  # nothing is downloaded for a message no route can take
    assert len(text.requests) == 1


async def test_an_image_url_over_the_limit_is_refused_with_the_limit(
    tmp_path: Path, receiver, servers
) -> None:
    api, base = receiver
    _, vision, _ = servers
    routes = [route(vision, "vision", "anthropic", capabilities=["vision"])]
    async with parley(tmp_path, routes, base, media={"maxImageBytes": 1024}) as (client, _):
        await send(client, 1, "look", images=[{"url": f"{base}/big.png"}])
        refused = await reply_to(api, 1)
        counted = await metric(client, "media_refused")
    assert refused["reply"] == "That image is too large: the limit is 1 KiB."
    assert counted == "1.0"
    assert len(api.received("/big.png")) == 1 and vision.requests == []
