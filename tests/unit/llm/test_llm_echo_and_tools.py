"""The offline echo provider and the tool-call loop against a scripted in-process model."""

from collections.abc import AsyncIterator

import pytest

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    StreamChunk,
    ToolCall,
    ToolSpec,
    Usage,
)
from parley_runtime.llm import echo, tools

ROUTE = ModelRoute(name="local", provider="echo", model="echo-1")
REQUEST = ChatRequest(
    messages=(
        ChatMessage(role="user", content="first"),
        ChatMessage(role="assistant", content="echo: first"),
        ChatMessage(role="user", content="hello brave new world"),
    )
)


async def test_echo_answers_the_last_user_message_with_estimated_usage() -> None:
    r = await echo.EchoProvider(ROUTE).complete(REQUEST)
    assert (r.text, r.route, r.model) == ("echo: hello brave new world", "local", "echo-1")
    assert r.usage.completion_tokens == echo.estimate_tokens("echo: hello brave new world")
    assert r.usage.prompt_tokens == sum(echo.estimate_tokens(m.content) for m in REQUEST.messages)


async def test_echo_streams_word_by_word() -> None:
    chunks = [c async for c in echo.EchoProvider(ROUTE).stream(REQUEST)]
    assert [c.delta for c in chunks] == ["echo: ", "hello ", "brave ", "new ", "world", ""]
    assert chunks[-1].usage is not None and chunks[-1].finish_reason == "stop"


def test_estimate_counts_every_script() -> None:
    assert echo.estimate_tokens("") == 1
    assert echo.estimate_tokens("你好世界你好世界") == 2


class Scripted:
    """A ChatModel that answers from a list and remembers what it was asked."""

    def __init__(self, *answers: ChatResponse) -> None:
        self.answers = list(answers)
        self.seen: list[ChatRequest] = []

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self.seen.append(request)
        return self.answers.pop(0)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        yield StreamChunk(delta=(await self.complete(request)).text)


def answer(text: str = "", *calls: ToolCall, tokens: int = 1) -> ChatResponse:
    return ChatResponse(text=text, model="m", tool_calls=calls, usage=Usage(prompt_tokens=tokens))


ASK = ChatRequest(messages=(ChatMessage(role="user", content="?"),), tools=(ToolSpec(name="t"),))


async def test_tool_results_are_appended_in_order_and_usage_is_summed() -> None:
    a, b = ToolCall(id="1", name="t", arguments="{}"), ToolCall(id="2", name="t", arguments='{"x": 1}')
    model = Scripted(answer("thinking", a, b, tokens=3), answer("done", tokens=4))

    async def call_tool(call: ToolCall) -> str:
        return f"result {call.id}"

    r = await tools.run_with_tools(model, ASK, call_tool)

    assert r.text == "done" and r.usage.prompt_tokens == 7
    second = model.seen[1].messages
    assert second[1] == ChatMessage(role="assistant", content="thinking", tool_calls=(a, b))
    assert [(m.role, m.tool_call_id, m.content) for m in second[2:]] == [
        ("tool", "1", "result 1"),
        ("tool", "2", "result 2"),
    ]


async def test_a_failing_tool_becomes_an_error_result_for_the_model() -> None:
    model = Scripted(answer("", ToolCall(id="1", name="boom")), answer("sorry"))

    async def call_tool(call: ToolCall) -> str:
        raise RuntimeError("database down: password=hunter2")

    r = await tools.run_with_tools(model, ASK, call_tool)

    assert r.text == "sorry"
    result = model.seen[1].messages[-1].content
    assert result == "error: tool boom failed (RuntimeError)"  # no exception text: it may hold secrets


async def test_max_rounds_ends_with_a_request_without_tools() -> None:
    call = ToolCall(id="1", name="t")
    model = Scripted(answer("", call), answer("", call), answer("final"))

    async def call_tool(call: ToolCall) -> str:
        return "x"

    r = await tools.run_with_tools(model, ASK, call_tool, max_rounds=2)

    assert r.text == "final"
    assert [len(req.tools) for req in model.seen] == [1, 1, 0]


class AlwaysCallsTool:
    """A ChatModel that asks for the tool in every answer, whole or streamed."""

    def __init__(self) -> None:
        self.seen: list[ChatRequest] = []

    def _call(self, request: ChatRequest) -> ToolCall:
        self.seen.append(request)
        return ToolCall(id=str(len(self.seen)), name="t")

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return answer("again", self._call(request))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        call = self._call(request)
        yield StreamChunk(delta="aga", model="m")
        yield StreamChunk(delta="in", model="m")
        yield StreamChunk(model="m", tool_calls=(call,))


@pytest.mark.parametrize("max_rounds", [0, 1, 2, tools.MAX_TOOL_ROUNDS])
async def test_streaming_and_complete_stop_after_the_same_tool_rounds(max_rounds: int) -> None:
    ran: list[str] = []

    async def call_tool(call: ToolCall) -> str:
        ran.append(call.id)
        return "x"

    whole, streamed = AlwaysCallsTool(), AlwaysCallsTool()
    await tools.run_with_tools(whole, ASK, call_tool, max_rounds)
    ran_whole = ran[:]
    ran.clear()
    chunks = [c async for c in tools.stream_with_tools(streamed, ASK, call_tool, max_rounds)]

    assert len(ran_whole) == len(ran) == max_rounds
    assert streamed.seen == whole.seen  # the same requests, round by round
    # after the last round of calls the model is asked once more, without tools
    assert [len(r.tools) for r in whole.seen] == ([1] * max_rounds + [0] if max_rounds else [1])
    assert "".join(c.delta for c in chunks) == "again" * len(streamed.seen)


async def test_a_request_without_tools_runs_none() -> None:
    model = AlwaysCallsTool()

    async def call_tool(call: ToolCall) -> str:
        raise AssertionError("no tool was offered")

    plain = ChatRequest(messages=ASK.messages)
    chunks = [c async for c in tools.stream_with_tools(model, plain, call_tool)]
    response = await tools.run_with_tools(model, plain, call_tool)

    assert len(model.seen) == 2 and chunks[-1].tool_calls and response.tool_calls
