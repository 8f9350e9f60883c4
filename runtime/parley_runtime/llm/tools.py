"""The function-calling loop: ask the model, run the tools it asks for, feed results back, repeat.

The pipeline passes plugin tools in as `call_tool`; a tool that raises is reported to the model
as an error result (the model can apologise or try another way) instead of failing the turn.
"""

import logging
from collections.abc import Awaitable, Callable

from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, ToolCall, Usage
from parley_runtime.core.protocols import ChatModel

__all__ = ["DEFAULT_MAX_ROUNDS", "run_with_tools"]

log = logging.getLogger(__name__)

DEFAULT_MAX_ROUNDS = 5


async def _run_one(call: ToolCall, call_tool: Callable[[ToolCall], Awaitable[str]]) -> ChatMessage:
    try:
        result = await call_tool(call)
    except Exception as exc:  # a plugin's failure becomes an answer the model can read
        log.warning("tool call failed", extra={"tool": call.name, "error": type(exc).__name__})
        result = f"error: tool {call.name} failed ({type(exc).__name__})"
    return ChatMessage(role="tool", content=result, tool_call_id=call.id, name=call.name)


async def run_with_tools(
    model: ChatModel,
    request: ChatRequest,
    call_tool: Callable[[ToolCall], Awaitable[str]],
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> ChatResponse:
    """The model's final plain answer, with usage summed over every round.

    After `max_rounds` rounds of tool calls the model is asked once more without tools, so the
    user always gets text back.
    """
    messages = list(request.messages)
    asked = request  # the first round sends the request as it is: most answers need no tool
    earlier = Usage()  # what the rounds before this one used
    for _ in range(max_rounds):
        response = await model.complete(asked)
        if not response.tool_calls:
            return (
                response
                if asked is request
                else response.model_copy(update={"usage": earlier + response.usage})
            )
        earlier = earlier + response.usage
        messages.append(ChatMessage(role="assistant", content=response.text, tool_calls=response.tool_calls))
        for call in response.tool_calls:
            messages.append(await _run_one(call, call_tool))
        asked = request.model_copy(update={"messages": tuple(messages)})
    final = await model.complete(request.model_copy(update={"messages": tuple(messages), "tools": ()}))
    return final.model_copy(update={"usage": earlier + final.usage})
