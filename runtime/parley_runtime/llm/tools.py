"""The function-calling loop: ask the model, run the tools it asks for, feed results back, repeat.

One loop in two shapes, `run_with_tools` (one `ChatResponse`) and `stream_with_tools` (the chunks
of every round), sharing the round arithmetic: an answer is final when it asks for no tool, when
its request offered none, or after `max_rounds` rounds of tool calls (`_is_final`); otherwise the
tools run and the next request carries their results, without tools once the last round has run
so that the user always gets text back (`_next_request`).

The pipeline passes plugin tools in as `call_tool`; a tool that raises is reported to the model
as an error result (the model can apologise or try another way) instead of failing the turn.
The router may answer a request that offers tools from a route without them (it sends the request
with `tools=()` there): such an answer asks for no tool, so it is final like any other.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall
from parley_runtime.core.protocols import ChatModel

__all__ = ["MAX_TOOL_ROUNDS", "CallTool", "run_with_tools", "stream_with_tools"]

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 5

CallTool = Callable[[ToolCall], Awaitable[str]]


async def _run_one(call: ToolCall, call_tool: CallTool) -> ChatMessage:
    try:
        result = await call_tool(call)
    except Exception as exc:  # a plugin's failure becomes an answer the model can read
        log.warning("tool call failed", extra={"tool": call.name, "error": type(exc).__name__})
        result = f"error: tool {call.name} failed ({type(exc).__name__})"
    return ChatMessage(role="tool", content=result, tool_call_id=call.id, name=call.name)


def _is_final(request: ChatRequest, calls: Sequence[ToolCall], round_no: int, max_rounds: int) -> bool:
    """Whether the answer to `request`, asked in round `round_no` (from 0), ends the loop."""
    return not calls or not request.tools or round_no >= max_rounds


async def _next_request(
    request: ChatRequest,
    text: str,
    calls: tuple[ToolCall, ...],
    call_tool: CallTool,
    round_no: int,
    max_rounds: int,
) -> ChatRequest:
    """`request` followed by the model's turn and the results of its calls, in order; without tools
    once `max_rounds` rounds of calls have run."""
    results = [await _run_one(call, call_tool) for call in calls]
    assistant = ChatMessage(role="assistant", content=text, tool_calls=calls)
    update: dict[str, Any] = {"messages": (*request.messages, assistant, *results)}
    if round_no + 1 >= max_rounds:
        update["tools"] = ()
    return request.model_copy(update=update)


async def run_with_tools(
    model: ChatModel,
    request: ChatRequest,
    call_tool: CallTool,
    max_rounds: int = MAX_TOOL_ROUNDS,
) -> ChatResponse:
    """The model's final answer, with usage summed over every round."""
    response = await model.complete(request)  # most answers need no tool: returned as they are
    usage = response.usage
    round_no = 0
    while not _is_final(request, response.tool_calls, round_no, max_rounds):
        request = await _next_request(
            request, response.text, response.tool_calls, call_tool, round_no, max_rounds
        )
        response = await model.complete(request)
        usage = usage + response.usage
        round_no += 1
    return response if round_no == 0 else response.model_copy(update={"usage": usage})


def stream_with_tools(
    model: ChatModel,
    request: ChatRequest,
    call_tool: CallTool,
    max_rounds: int = MAX_TOOL_ROUNDS,
) -> AsyncIterator[StreamChunk]:
    """The chunks of every round as the model sends them; tools run between rounds."""
    if not request.tools:  # nothing to run: the model's own stream, not wrapped
        return model.stream(request)
    return _stream_rounds(model, request, call_tool, max_rounds)


async def _stream_rounds(
    model: ChatModel, request: ChatRequest, call_tool: CallTool, max_rounds: int
) -> AsyncIterator[StreamChunk]:
    round_no = 0
    while True:
        calls: list[ToolCall] = []
        text: list[str] = []
        async for chunk in model.stream(request):
            calls.extend(chunk.tool_calls)
            if chunk.delta:
                text.append(chunk.delta)
            yield chunk
        if _is_final(request, calls, round_no, max_rounds):
            return
        request = await _next_request(request, "".join(text), tuple(calls), call_tool, round_no, max_rounds)
        round_no += 1
