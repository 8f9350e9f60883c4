"""The OpenAI-compatible speech wire format, pure: where the calls go, how audio is named, what comes back."""

import pytest

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolSpec
from parley_runtime.llm import errors, openai_compat


def test_speech_endpoints_follow_the_base_url_and_azures_deployment_path() -> None:
    plain = ModelRoute(
        name="w", provider="openai-compatible", model="whisper-1", baseURL="https://llm.test/v1/"
    )
    assert (
        openai_compat.endpoint_url(plain, "/audio/transcriptions")
        == "https://llm.test/v1/audio/transcriptions"
    )
    assert openai_compat.chat_url(plain) == "https://llm.test/v1/chat/completions"
    azure = ModelRoute.model_validate(
        {
            "name": "az",
            "provider": "azure-openai",
            "model": "my tts",
            "baseURL": "https://r.openai.azure.com",
            "apiKey": {"secretKeyRef": {"name": "k", "key": "k"}},
        }
    )
    assert openai_compat.endpoint_url(azure, "/audio/speech") == (
        "https://r.openai.azure.com/openai/deployments/my%20tts/audio/speech?api-version=2024-10-21"
    )


@pytest.mark.parametrize(
    ("mime", "name"),
    [
        ("audio/ogg", "audio.ogg"),
        ("audio/ogg; codecs=opus", "audio.ogg"),
        ("AUDIO/MPEG", "audio.mp3"),
        ("audio/x-m4a", "audio.m4a"),
        ("audio/wav", "audio.wav"),
        ("audio/webm", "audio.webm"),
        ("audio/amr", "audio.amr"),
        ("application/octet-stream", "audio.bin"),
    ],
)
def test_audio_is_named_by_its_type_for_the_transcription_api(mime: str, name: str) -> None:
    assert openai_compat.audio_filename(mime) == name


def test_a_transcription_answer_is_its_text_and_anything_else_is_fatal() -> None:
    assert openai_compat.parse_transcription({"text": " hi there \n"}, route="w") == "hi there"
    for body in ({"error": "x"}, {"text": 3}, ["text"], None):
        with pytest.raises(errors.FatalError, match="route w: unexpected transcription shape"):
            openai_compat.parse_transcription(body, route="w")


def test_speech_asks_for_opus() -> None:
    route = ModelRoute(name="t", provider="openai-compatible", model="tts-1")
    assert openai_compat.speech_payload(route, "Hello", "alloy") == {
        "model": "tts-1",
        "input": "Hello",
        "voice": "alloy",
        "response_format": "opus",
    }


def test_tools_are_wanted_but_not_required_and_images_need_vision() -> None:
    text = ChatRequest(messages=(ChatMessage(role="user", content="hi"),), tools=(ToolSpec(name="t"),))
    image = ChatRequest(
        messages=(ChatMessage(role="user", content="?", images=("data:image/png;base64,AA",)),)
    )
    asked = text.model_copy(update={"capabilities": frozenset({"long-context"})})
    assert text.required_capabilities() == frozenset()
    assert image.required_capabilities() == frozenset({"vision"})
    assert asked.required_capabilities() == frozenset({"long-context"})
