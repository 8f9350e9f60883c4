"""Routing by need against real fake servers: vision, tools optional (whole and streamed), speech routes
(`stt` transcription as multipart, `tts` speech as bytes) kept apart from chat, and each family's image
encoding as its server receives it."""

import random

import pytest

from fakes.llm_servers import FAKES, Reply, SleepRecorder, key_for, make_models, make_secrets, route_for
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolSpec
from parley_runtime.llm import errors, providers, router

HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))
PNG = "data:image/png;base64,iVBORw0KGgo="
IMAGE = ChatRequest(messages=(ChatMessage(role="user", content="what is this?", images=(PNG,)),))
WEATHER = ToolSpec(name="weather", description="today's weather")
IMAGE_WITH_TOOLS = IMAGE.model_copy(update={"tools": (WEATHER,)})
OGG = b"OggS\x00\x02voice-bytes"


def build(routes, http, metrics):
    return router.build_router(
        make_models(*routes),
        make_secrets(*routes),
        http,
        metrics,
        rng=random.Random(3),
        sleep=SleepRecorder(),
    )


def sample(metrics, name, **labels) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_vision_route_without_tools_answers_an_image_when_tools_are_offered(
    fake_server, http, metrics
) -> None:
    tools_srv = fake_server("openai", text="tools here")
    vision_srv = fake_server("anthropic", text="a cat")
    routes = [
        route_for(tools_srv, "tools", capabilities=["tools"]),
        route_for(vision_srv, "vision", priority=1, capabilities=["vision"]),
    ]
    r = build(routes, http, metrics)

    whole = await r.complete(IMAGE_WITH_TOOLS)
    streamed = [c async for c in r.stream(IMAGE_WITH_TOOLS)]

    assert whole.route == "vision" and whole.text == "a cat"
    assert "".join(c.delta for c in streamed) == "a cat" and streamed[-1].route == "vision"
    assert len(tools_srv.requests) == 0
    whole_body, stream_body = (req.body for req in vision_srv.requests)
    assert "tools" not in whole_body and "tools" not in stream_body and stream_body["stream"] is True
    assert whole_body["messages"][0]["content"][0]["source"]["type"] == "base64"


async def test_tools_go_to_a_tools_route_first_and_fall_back_without_them(fake_server, http, metrics) -> None:
    plain = fake_server("gemini", text="plain answer")
    tooled = fake_server("openai", text="tooled answer")
    routes = [route_for(plain, "plain"), route_for(tooled, "tooled", priority=5, capabilities=["tools"])]
    r = build(routes, http, metrics)
    asking = HELLO.model_copy(update={"tools": (WEATHER,)})

    assert (await r.complete(asking)).route == "tooled"  # tools preferred over a better priority
    assert tooled.requests[-1].body["tools"][0]["function"]["name"] == "weather"
    assert (await r.complete(HELLO)).route == "plain"  # without tools, priority decides

    tooled.fail(status=500, times=2)
    assert (await r.complete(asking)).route == "plain"
    assert [c async for c in r.stream(asking)][-1].route == "plain"
    assert "tools" not in plain.requests[-1].body and "tools" not in plain.requests[-2].body


async def test_speech_routes_never_answer_chat(fake_server, http, metrics) -> None:
    speech = fake_server("openai", text="must not chat")
    chat = fake_server("openai", text="chatting")
    routes = [
        route_for(speech, "whisper", capabilities=["stt", "vision", "tools"]),
        route_for(chat, "chat", priority=9),
    ]
    r = build(routes, http, metrics)

    assert (await r.complete(HELLO)).route == "chat"
    assert [c async for c in r.stream(HELLO)][-1].route == "chat"
    with pytest.raises(errors.NoRouteError, match="no route offers vision"):
        await r.complete(IMAGE)
    assert speech.requests == []
    assert (r.offers("stt"), r.offers("vision"), r.offers("tools"), r.offers("tts")) == (
        True,
        False,
        False,
        False,
    )
    assert await r.probe_once() == {"chat": True}  # speech endpoints are not probed with a chat call


async def test_transcription_is_a_multipart_upload_to_the_stt_route(fake_server, http, metrics) -> None:
    chat = fake_server("openai")
    whisper = fake_server("openai", model="whisper-1")
    whisper.transcript = "  turn on the lights  "
    routes = [route_for(chat, "chat"), route_for(whisper, "whisper", capabilities=["stt"])]
    r = build(routes, http, metrics)

    text = await r.transcribe(OGG, "audio/ogg; codecs=opus")

    assert text == "turn on the lights"
    (sent,) = whisper.requests
    assert (sent.method, sent.path) == ("POST", "/v1/audio/transcriptions")
    assert sent.headers["authorization"] == f"Bearer {key_for('whisper')}"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.body["fields"] == {"model": "whisper-1"}
    upload = sent.body["files"]["file"]
    assert (upload["filename"], upload["data"]) == ("audio.ogg", OGG)
    assert upload["content_type"] == "audio/ogg"
    assert chat.requests == []
    ok = sample(metrics, "parley_llm_requests_total", provider="whisper", model="whisper-1", outcome="ok")
    assert ok == 1


async def test_transcription_falls_back_to_the_next_stt_route_and_fails_readably(
    fake_server, http, metrics
) -> None:
    first = fake_server("openai")
    second = fake_server("openai")
    first.fail(status=503)
    second.push(Reply(text="from the second"))
    routes = [
        route_for(first, "stt-a", capabilities=["stt"]),
        route_for(second, "stt-b", priority=1, capabilities=["stt"]),
    ]
    r = build(routes, http, metrics)

    assert await r.transcribe(b"RIFF....WAVE", "audio/wav") == "from the second"
    assert second.requests[0].body["files"]["file"]["filename"] == "audio.wav"

    first.fail(status=400)
    second.fail(status=400)
    with pytest.raises(errors.NoRouteError, match="every route failed"):
        await r.transcribe(b"x", "audio/mpeg")


async def test_without_a_speech_route_transcribe_and_speak_say_so(fake_server, http, metrics) -> None:
    chat = fake_server("anthropic")
    tagged_but_unable = fake_server("gemini")  # a family that has no speech endpoint
    r = build(
        [route_for(chat, "chat"), route_for(tagged_but_unable, "g", capabilities=["stt"])], http, metrics
    )
    assert not r.offers("stt")
    with pytest.raises(errors.NoRouteError, match="no route offers stt"):
        await r.transcribe(b"x", "audio/ogg")
    with pytest.raises(errors.NoRouteError, match="no route offers tts"):
        await r.speak("hi", "alloy")
    assert tagged_but_unable.requests == []


async def test_speech_is_synthesized_by_the_tts_route_as_ogg_opus(fake_server, http, metrics) -> None:
    chat = fake_server("openai")
    voice = fake_server("openai", model="tts-1")
    voice.speech = b"OggS-spoken-answer"
    r = build([route_for(chat, "chat"), route_for(voice, "voice", capabilities=["tts"])], http, metrics)

    audio, mime = await r.speak("Hello there", "nova")

    assert (audio, mime) == (b"OggS-spoken-answer", "audio/ogg")
    (sent,) = voice.requests
    assert sent.path == "/v1/audio/speech"
    assert sent.body == {"model": "tts-1", "input": "Hello there", "voice": "nova", "response_format": "opus"}
    assert chat.requests == []


@pytest.mark.parametrize("kind", sorted(FAKES))
async def test_streamed_images_travel_in_each_familys_encoding(kind, fake_server, http) -> None:
    srv = fake_server(kind)
    model = providers.create_provider(route_for(srv, "main"), "k", http)
    chunks = [c async for c in model.stream(IMAGE)]
    assert chunks[-1].finish_reason is not None
    body = srv.requests[0].body
    if kind == "openai":
        assert body["messages"][0]["content"] == [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": PNG}},
        ]
    elif kind == "anthropic":
        assert body["messages"][0]["content"] == [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            },
            {"type": "text", "text": "what is this?"},
        ]
    else:
        assert body["contents"][0]["parts"] == [
            {"text": "what is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        ]
