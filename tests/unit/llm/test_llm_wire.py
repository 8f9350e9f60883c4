"""Pure wire conversion of the three provider families: payloads out, responses and streams in."""

import json

import pytest

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolCall, ToolSpec
from parley_runtime.llm import anthropic, errors, gemini, openai_compat


def make_route(provider: str = "openai-compatible", **fields) -> ModelRoute:
    base = {"name": "r", "provider": provider, "model": "m"}
    if provider in ("anthropic", "gemini"):
        base["apiKey"] = {"secretKeyRef": {"name": "llm", "key": "k"}}
    return ModelRoute.model_validate({**base, **fields})


CALL = ToolCall(id="call_1", name="weather", arguments='{"city": "Paris"}')
CONVERSATION = ChatRequest(
    messages=(
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="weather?", images=("data:image/png;base64,QUJD",)),
        ChatMessage(role="assistant", content="", tool_calls=(CALL,)),
        ChatMessage(role="tool", content='{"temp": 21}', tool_call_id="call_1"),
    ),
    tools=(ToolSpec(name="weather", description="d", parameters={"type": "object"}),),
    max_tokens=50,
)


# --- OpenAI ------------------------------------------------------------------------------------------


def test_openai_payload() -> None:
    p = openai_compat.build_payload(CONVERSATION, make_route(temperature=0.3), stream=True)
    assert p["model"] == "m" and p["max_tokens"] == 50 and p["temperature"] == 0.3
    assert p["stream"] is True and p["stream_options"] == {"include_usage": True}
    system, user, assistant, tool = p["messages"]
    assert system == {"role": "system", "content": "be brief"}
    assert user["content"] == [
        {"type": "text", "text": "weather?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
    ]
    assert assistant["content"] is None
    assert assistant["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert tool == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1"}
    assert p["tools"][0] == {
        "type": "function",
        "function": {"name": "weather", "description": "d", "parameters": {"type": "object"}},
    }


def test_openai_route_defaults_fill_gaps_only() -> None:
    request = ChatRequest(messages=(ChatMessage(role="user", content="hi"),))
    p = openai_compat.build_payload(request, make_route(maxTokens=99), stream=False)
    assert p["max_tokens"] == 99 and "temperature" not in p and "stream" not in p and "tools" not in p


def test_openai_parse_rejects_unknown_shapes() -> None:
    with pytest.raises(errors.FatalError, match="route r"):
        openai_compat.parse_completion({"choices": []}, route="r", model="m")


def test_openai_stream_assembles_tool_call_fragments() -> None:
    a = openai_compat.StreamAssembler(route="r", model="m")
    frames = [
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "wea"}}]}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"name": "ther", "arguments": '{"ci'}}]}}
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "c1", "function": {"name": "time"}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "X"}'}}]}}]},
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}},
    ]
    assert [a.feed(f) for f in frames] == [None] * len(frames)
    final = a.finish()
    assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
        ("c0", "weather", '{"city": "X"}'),
        ("c1", "time", "{}"),
    ]
    assert final.finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 13


def test_openai_stream_text_passes_through() -> None:
    a = openai_compat.StreamAssembler(route="r", model="m")
    chunk = a.feed({"model": "gpt-x", "choices": [{"delta": {"content": "Hel"}}]})
    assert chunk is not None and (chunk.delta, chunk.model, chunk.route) == ("Hel", "gpt-x", "r")


# --- Anthropic ---------------------------------------------------------------------------------------


def test_anthropic_payload() -> None:
    p = anthropic.build_payload(CONVERSATION, make_route("anthropic"), stream=False)
    assert p["system"] == "be brief" and p["max_tokens"] == 50 and "stream" not in p
    user, assistant, tool_turn = p["messages"]
    assert user["role"] == "user"
    assert user["content"][0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"},
    }
    assert user["content"][1] == {"type": "text", "text": "weather?"}
    assert assistant == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}],
    }
    assert tool_turn == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": '{"temp": 21}'}],
    }
    assert p["tools"] == [{"name": "weather", "description": "d", "input_schema": {"type": "object"}}]


def test_anthropic_needs_max_tokens_and_merges_consecutive_tool_results() -> None:
    request = ChatRequest(
        messages=(
            ChatMessage(role="user", content="hi"),
            ChatMessage(
                role="assistant", content="", tool_calls=(CALL, CALL.model_copy(update={"id": "call_2"}))
            ),
            ChatMessage(role="tool", content="a", tool_call_id="call_1"),
            ChatMessage(role="tool", content="b", tool_call_id="call_2"),
        )
    )
    p = anthropic.build_payload(request, make_route("anthropic"), stream=True)
    assert p["max_tokens"] == anthropic.DEFAULT_MAX_TOKENS and p["stream"] is True
    assert [m["role"] for m in p["messages"]] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in p["messages"][2]["content"]] == ["call_1", "call_2"]


def test_anthropic_http_image_uses_url_source() -> None:
    request = ChatRequest(messages=(ChatMessage(role="user", content="?", images=("https://x.test/a.jpg",)),))
    block = anthropic.build_payload(request, make_route("anthropic"), stream=False)["messages"][0]["content"][
        0
    ]
    assert block == {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}


def test_anthropic_parse_message_with_text_and_tool_use() -> None:
    body = {
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }
    r = anthropic.parse_message(body, route="r", model="m")
    assert (r.text, r.model, r.finish_reason) == ("Let me check.", "claude-x", "tool_use")
    assert r.tool_calls == (ToolCall(id="toolu_1", name="weather", arguments='{"city": "Paris"}'),)
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (30, 12)


def test_anthropic_stream_events() -> None:
    a = anthropic.StreamAssembler(route="r", model="m")
    events = [
        {
            "type": "message_start",
            "message": {"model": "claude-x", "usage": {"input_tokens": 25, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "w"},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ": 1}"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 15}},
    ]
    chunks = [a.feed(e) for e in events]
    assert [c.delta for c in chunks if c is not None] == ["Hi"]
    final = a.finish()
    assert final.tool_calls == (ToolCall(id="t1", name="w", arguments='{"a": 1}'),)
    assert final.usage is not None and (final.usage.prompt_tokens, final.usage.completion_tokens) == (25, 15)
    assert (final.model, final.finish_reason) == ("claude-x", "tool_use")


def test_anthropic_error_event_is_retryable() -> None:
    a = anthropic.StreamAssembler(route="r", model="m")
    with pytest.raises(errors.RetryableError, match="overloaded_error"):
        a.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


# --- Gemini ------------------------------------------------------------------------------------------


def test_gemini_payload() -> None:
    p = gemini.build_payload(CONVERSATION, make_route("gemini", temperature=0.5))
    assert p["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    user, model_turn, tool_turn = p["contents"]
    assert user == {
        "role": "user",
        "parts": [{"text": "weather?"}, {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}],
    }
    assert model_turn == {
        "role": "model",
        "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}],
    }
    assert tool_turn == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "weather", "response": {"temp": 21}}}],
    }
    assert p["tools"] == [
        {"functionDeclarations": [{"name": "weather", "description": "d", "parameters": {"type": "object"}}]}
    ]
    assert p["generationConfig"] == {"maxOutputTokens": 50, "temperature": 0.5}


def test_gemini_plain_text_tool_output_is_wrapped_in_an_object() -> None:
    request = CONVERSATION.model_copy(
        update={
            "messages": (
                *CONVERSATION.messages[:-1],
                ChatMessage(role="tool", content="sunny", tool_call_id="call_1"),
            )
        }
    )
    part = gemini.build_payload(request, make_route("gemini"))["contents"][-1]["parts"][0]
    assert part["functionResponse"]["response"] == {"content": "sunny"}


def test_gemini_parse_response_with_function_call_and_usage() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "ok "}, {"functionCall": {"name": "w", "args": {"x": 1}}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10},
        "modelVersion": "gemini-x",
    }
    r = gemini.parse_response(body, route="r", model="m")
    assert (r.text, r.model, r.finish_reason) == ("ok ", "gemini-x", "stop")
    assert r.tool_calls == (ToolCall(id="call_0", name="w", arguments='{"x": 1}'),)
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (7, 3)


def test_gemini_blocked_prompt_is_an_empty_answer() -> None:
    r = gemini.parse_response({"promptFeedback": {"blockReason": "SAFETY"}}, route="r", model="m")
    assert (r.text, r.finish_reason) == ("", "safety")


def test_gemini_stream_keeps_the_last_usage_and_collects_calls() -> None:
    a = gemini.StreamAssembler(route="r", model="m")
    first = a.feed(
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}], "usageMetadata": {"promptTokenCount": 4}}
    )
    a.feed({"candidates": [{"content": {"parts": [{"functionCall": {"name": "w", "args": {}}}]}}]})
    a.feed(
        {
            "candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6},
        }
    )
    final = a.finish()
    assert first is not None and first.delta == "Hel"
    assert [c.name for c in final.tool_calls] == ["w"]
    assert final.usage is not None and (final.usage.prompt_tokens, final.usage.completion_tokens) == (4, 6)
    assert final.finish_reason == "stop"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (None, "https://generativelanguage.googleapis.com/v1beta/models/m"),
        ("https://proxy.test/", "https://proxy.test/v1beta/models/m"),
        ("https://proxy.test/v1beta", "https://proxy.test/v1beta/models/m"),
    ],
)
def test_gemini_url(base, expected) -> None:
    assert gemini._model_url(make_route("gemini", baseURL=base)) == expected


def test_arguments_stay_valid_json_text() -> None:
    r = anthropic.parse_message(
        {"content": [{"type": "tool_use", "id": "t", "name": "n", "input": {"city": "北京"}}]},
        route="r",
        model="m",
    )
    assert json.loads(r.tool_calls[0].arguments) == {"city": "北京"}
