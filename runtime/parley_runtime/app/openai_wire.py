"""The OpenAI Chat Completions wire format, pure: the request body, what it becomes for the pipeline,
and the completion, chunk, model and error objects (docs/openai-api.md).

A request's `messages` become one user message — the last one, whose text the plugins see and whose
pictures are the turn's attachments — and the history before it. Pictures of earlier turns stay an
`[image]` marker in their text, as Parley's sessions keep them: only the new turn's are looked at.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from parley_runtime.app import errors
from parley_runtime.core.chat import ChatMessage, ToolCall, Usage
from parley_runtime.platforms.http import media as http_media

__all__ = [
    "CompletionBody",
    "Conversation",
    "Head",
    "Invalid",
    "chunk",
    "completion",
    "conversation",
    "error",
    "finish_reason",
    "model_object",
    "parse",
    "usage_chunk",
]

MAX_MESSAGES = 1000
MAX_PARTS = 64  # content parts of one message
_TEXT_PARTS = ("text", "input_text", "refusal")  # a refusal of an earlier answer is its text
_IMAGE_MARK = "[image]"


class Invalid(Exception):
    """A body the endpoint cannot take, in one line for the caller (400)."""


class _ImageURL(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: Annotated[str, Field(min_length=1, repr=False)]


class Part(BaseModel):
    """One content part: `{"type": "text", "text"}` or `{"type": "image_url", "image_url": {"url"}}`."""

    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None
    refusal: str | None = None
    image_url: _ImageURL | None = None

    @field_validator("image_url", mode="before")
    @classmethod
    def _url_alone(cls, value: Any) -> Any:
        """Some clients send the URL itself rather than `{"url": …}`."""
        return {"url": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known(self) -> Self:
        if self.type in ("text", "input_text") and self.text is None:
            raise PydanticCustomError("part", "a text part needs text")
        if self.type == "refusal" and self.refusal is None:
            raise PydanticCustomError("part", "a refusal part needs refusal")
        if self.type == "image_url" and self.image_url is None:
            raise PydanticCustomError("part", "an image_url part needs image_url.url")
        if self.type not in (*_TEXT_PARTS, "image_url"):
            raise PydanticCustomError(
                "part",
                "content parts of type {type} are not supported (text and image_url are)",
                {"type": self.type},
            )
        return self

    @property
    def words(self) -> str | None:
        return self.text if self.text is not None else self.refusal


class _Function(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    arguments: str = "{}"


class _ToolCallIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    function: _Function


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[list[Part], Field(max_length=MAX_PARTS)] | None = None
    tool_calls: list[_ToolCallIn] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _string_is_one_part(cls, value: Any) -> Any:
        return [{"type": "text", "text": value}] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _answers_a_call(self) -> Self:
        if self.role == "tool" and not self.tool_call_id:
            raise PydanticCustomError("tool", "a tool message needs the tool_call_id it answers")
        return self

    def text(self) -> str:
        return "\n".join(w for p in self.content or () if (w := p.words) is not None)

    def images(self) -> list[tuple[int, str]]:
        """(part index, URL) of each picture."""
        return [(i, p.image_url.url) for i, p in enumerate(self.content or ()) if p.image_url is not None]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class CompletionBody(BaseModel):
    """What the endpoint reads of a Chat Completions request; any other field is ignored."""

    model_config = ConfigDict(extra="ignore")

    model: Annotated[str, Field(min_length=1, max_length=256)]
    messages: Annotated[list[Message], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: Annotated[str, Field(max_length=256)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    n: int | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise PydanticCustomError("n", "only one choice is answered (n=1)")
        return value

    @property
    def session_user(self) -> str | None:
        """The Parley user whose session this request continues (an empty `user` names nobody)."""
        return self.user or None

    @property
    def reply_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def wants_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


@dataclass(frozen=True, slots=True)
class Conversation:
    """The request's messages as the pipeline takes them."""

    text: str  # of the last message, the user's
    images: list[http_media.ImageIn]  # its pictures, checked
    history: tuple[ChatMessage, ...]  # every message before it


def parse(raw: bytes) -> CompletionBody:
    try:
        return CompletionBody.model_validate_json(raw)
    except ValidationError as exc:
        raise Invalid(errors.describe(exc.errors(include_url=False))) from None


def conversation(body: CompletionBody, *, with_history: bool) -> Conversation:
    """The last message, which must be the user's, and (`with_history`) the turns before it."""
    number = len(body.messages) - 1
    last = body.messages[number]
    if last.role != "user":
        raise Invalid(f"messages.{number}.role: the last message must be the user's (role user)")
    found = last.images()
    if len(found) > http_media.MAX_IMAGES:
        raise Invalid(f"messages.{number}.content: at most {http_media.MAX_IMAGES} images in a message")
    images = [_image(number, index, url) for index, url in found]
    text = last.text()
    if not text.strip() and not images:
        raise Invalid(f"messages.{number}.content: the last user message has neither text nor images")
    history = tuple(_history(body.messages[:number])) if with_history else ()
    return Conversation(text=text, images=images, history=history)


def _image(number: int, index: int, url: str) -> http_media.ImageIn:
    """A picture of the new turn: a `data:` URL decoded and checked now, an http(s) URL fetched later."""
    source = {"data": url} if url.startswith("data:") else {"url": url}
    try:
        return http_media.ImageIn.model_validate(source)
    except ValidationError as exc:
        problem = errors.describe({**e, "loc": ()} for e in exc.errors(include_url=False))
        raise Invalid(f"messages.{number}.content.{index}.image_url: {problem}") from None


def _history(messages: Iterable[Message]) -> Iterable[ChatMessage]:
    for m in messages:
        text = m.text()
        if m.role == "user" and (pictures := len(m.images())):
            text = " ".join([_IMAGE_MARK] * pictures + ([text] if text else []))
        if m.role in ("system", "developer"):
            yield ChatMessage(role="system", content=text)
        elif m.role == "tool":
            yield ChatMessage(role="tool", content=text, tool_call_id=m.tool_call_id)
        elif m.role == "assistant" and m.tool_calls:
            calls = tuple(
                ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in m.tool_calls
            )
            yield ChatMessage(role="assistant", content=text, tool_calls=calls)
        else:
            yield ChatMessage(role="user" if m.role == "user" else "assistant", content=text)


# --- answers ------------------------------------------------------------------------------------------


def finish_reason(said: str | None) -> str:
    """The provider's word for why an answer ended, in OpenAI's: `length` when it ran out of tokens."""
    if said in ("length", "max_tokens"):
        return "length"
    if said in ("content_filter", "safety"):
        return "content_filter"
    return "stop"


def _usage(usage: Usage | None) -> dict[str, int]:
    found = usage or Usage()
    return {
        "prompt_tokens": found.prompt_tokens,
        "completion_tokens": found.completion_tokens,
        "total_tokens": found.total_tokens,
    }


@dataclass(frozen=True, slots=True)
class Head:
    """What every object of one answer repeats."""

    id: str
    created: int
    model: str  # the bot's name
    track: str  # as `system_fingerprint`


def completion(head: Head, text: str, said: str | None, usage: Usage | None) -> dict[str, Any]:
    return {
        "id": head.id,
        "object": "chat.completion",
        "created": head.created,
        "model": head.model,
        "system_fingerprint": head.track,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason(said),
            }
        ],
        "usage": _usage(usage),
    }


def _chunk_of(head: Head, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": head.id,
        "object": "chat.completion.chunk",
        "created": head.created,
        "model": head.model,
        "system_fingerprint": head.track,
        "choices": choices,
    }


def chunk(head: Head, delta: Mapping[str, str], finish: str | None = None) -> dict[str, Any]:
    return _chunk_of(head, [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])


def usage_chunk(head: Head, usage: Usage | None) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage` asks for it: no choices, the whole usage."""
    return {**_chunk_of(head, []), "usage": _usage(usage)}


def model_object(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "parley"}


def error(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
