"""run_with_tools end to end: the model asks for a tool, we run it, the result goes back in its format."""

import json
import random

import pytest

from fakes.llm_servers import SleepRecorder, make_models, make_secrets, route_for
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolCall, ToolSpec
from parley_runtime.llm import router, tools

WEATHER = ToolSpec(
    name="weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ASK = ChatRequest(
    messages=(
        ChatMessage(role="system", content="use tools"),
        ChatMessage(role="user", content="weather in Paris?"),
    ),
    tools=(WEATHER,),
)


def tool_result_sent(kind: str, body: dict) -> tuple[str, str]:
    """(call id or function name, result text) of the tool result in the second request."""
    if kind == "openai":
        msg = body["messages"][-1]
        assert body["messages"][-2]["tool_calls"][0]["function"]["name"] == "weather"
        return msg["tool_call_id"], msg["content"]
    if kind == "anthropic":
        assistant, user = body["messages"][-2], body["messages"][-1]
        assert assistant["content"][0] == {
            "type": "tool_use",
            "id": "toolu_0",
            "name": "weather",
            "input": {"city": "Paris"},
        }
        block = user["content"][0]
        return block["tool_use_id"], block["content"]
    model_turn, user_turn = body["contents"][-2], body["contents"][-1]
    assert model_turn == {
        "role": "model",
        "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}],
    }
    response = user_turn["parts"][0]["functionResponse"]
    return response["name"], response["response"]["content"]


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_tool_loop_end_to_end(kind, fake_server, http, metrics) -> None:
    srv = fake_server(kind, text="It is sunny in Paris.")
    srv.call_tool("weather", {"city": "Paris"})
    route = route_for(srv, "main", capabilities=["tools"])
    r = router.build_router(make_models(route), make_secrets(route), http, metrics, rng=random.Random(1))
    calls: list[ToolCall] = []

    async def call_tool(call: ToolCall) -> str:
        calls.append(call)
        return f"sunny, 21C in {json.loads(call.arguments)['city']}"

    response = await tools.run_with_tools(r, ASK, call_tool)

    assert response.text == "It is sunny in Paris."
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("weather", {"city": "Paris"})]
    assert len(srv.requests) == 2
    ref, result = tool_result_sent(kind, srv.requests[1].body)
    assert ref == {"openai": "call_0", "anthropic": "toolu_0", "gemini": "weather"}[kind]
    assert result == "sunny, 21C in Paris"
    assert response.usage.prompt_tokens == 20  # both rounds counted


async def test_tool_loop_stops_after_max_rounds_with_a_plain_answer(fake_server, http, metrics) -> None:
    srv = fake_server("openai", text="giving up on tools")
    srv.call_tool("weather", {"city": "Paris"}, times=2)
    route = route_for(srv, "main", capabilities=["tools"])
    r = router.build_router(make_models(route), make_secrets(route), http, metrics, sleep=SleepRecorder())

    async def call_tool(call: ToolCall) -> str:
        return "still raining"

    response = await tools.run_with_tools(r, ASK, call_tool, max_rounds=2)

    assert response.text == "giving up on tools"
    assert len(srv.requests) == 3
    assert "tools" not in srv.requests[-1].body  # the last round asks for text only
