"""The one request/response shape every LLM provider speaks."""

from operator import attrgetter
from typing import Any, Literal

import pydantic.dataclasses
from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]

_images = attrgetter("images")


class ToolCall(BaseModel):
    """A function call the model asked for; `arguments` is the raw JSON text."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str = "{}"


@pydantic.dataclasses.dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation, validated like a model but stored lean.

    Sessions keep thousands of these in memory and every request reads a whole history of them: as a
    slotted dataclass a message takes a quarter of a model's memory (no per-instance `__dict__` or
    set of given fields), which measured 6% less CPU per message (docs/benchmarks.md).
    """

    role: Role
    content: str = ""
    images: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    @property
    def plain(self) -> bool:
        """Only a role and text, as nearly every message of a history: wire formats take a short path."""
        return not (self.images or self.tool_calls or self.tool_call_id or self.name)


class ToolSpec(BaseModel):
    """A function the model may call, described by a JSON Schema for its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ChatRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    capabilities: frozenset[str] = frozenset()

    def required_capabilities(self) -> frozenset[str]:
        """What a route must offer: asked-for tags plus `vision` when a message carries images.

        Offered tools are not required: the router prefers routes tagged `tools` and otherwise sends
        the request without them, so a vision route without tools still answers.
        """
        if not any(map(_images, self.messages)):  # every request walks its whole history: keep it in C
            return self.capabilities
        return self.capabilities | {"vision"}


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class ChatResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    model: str
    route: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    finish_reason: str | None = None


class StreamChunk(BaseModel):
    """One piece of a streamed answer. The last chunk carries usage and finish_reason."""

    model_config = ConfigDict(frozen=True)

    delta: str = ""
    model: str = ""
    route: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
