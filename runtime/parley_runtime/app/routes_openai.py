"""`POST /v1/chat/completions` and `GET /v1/models`: the bot as a model any OpenAI client talks to
(docs/openai-api.md).

The bot's name is the model. The request walks the chat API's pipeline, so persona, plugins, tools,
rate limits, gray release and budgets apply as they do there. The conversation is the request's
`messages` — the client keeps the history, Parley stores nothing (`pipeline.Given`) — unless `user`
is set: then it is that user's Parley session (the one the chat API's `user_id` names) and only the
last message is read. Outcomes that are no answer (rate limit, budget, a failed model) are HTTP errors
in OpenAI's shape, so a client neither shows nor keeps them as the assistant's words.

The gateway checks the body, picks the track and forwards the caller's bytes to an engine of that
track (`chat_forward`); the engine checks the bearer token, as for the chat API.
"""

import functools
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from parley_runtime.app import chat_forward, routes_chat
from parley_runtime.app import openai_wire as wire
from parley_runtime.app.asgi import FastJSON, headers_of, read_body, serve
from parley_runtime.app.components import Components
from parley_runtime.app.state import components
from parley_runtime.config.models import Media
from parley_runtime.core.media import human_size
from parley_runtime.core.messages import InboundMessage, Track
from parley_runtime.engine.pipeline import RATE_LIMITED_TEXT, Given, Reply, StreamEvent
from parley_runtime.platforms.http import media as http_media

__all__ = ["MODELS_PATH", "OVERLOADED", "PATH", "answer", "router", "serve_completions"]

log = logging.getLogger("parley.openai")
router = APIRouter()

PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
# Who calls without `user`: every such call is one caller for rate limits and the gray-release bucket
# (the holder of the bot's one API token, as LiteLLM limits per key).
ANONYMOUS = "openai"
MAX_TEXT_BYTES = 1 << 20  # the whole history travels with every request

_EVENT_PREFIX = f"openai-{secrets.token_hex(6)}-"
_event_numbers = itertools.count(1)
_Headers = tuple[tuple[bytes, bytes], ...]


def max_body_bytes(limits: Media) -> int:
    """The history's text, plus the largest picture the bot takes, base64-encoded (several share it)."""
    return MAX_TEXT_BYTES + -(-limits.max_image_bytes // 3) * 4


def _error(status: int, message: str, kind: str, code: str | None = None, headers: _Headers = ()) -> FastJSON:
    return FastJSON(wire.error(message, kind, code), status_code=status, headers=list(headers))


def _invalid(message: str) -> FastJSON:
    return _error(400, message, "invalid_request_error")


_UNAUTHORISED = _error(
    401,
    "missing or invalid bearer token",
    "invalid_request_error",
    "invalid_api_key",
    ((b"www-authenticate", b"Bearer"),),
)
_GATEWAY_ONLY = _error(403, "engines answer only through the gateway", "permission_error")
_UNAVAILABLE = _error(503, "temporarily unavailable", "server_error", "service_unavailable")
# Past the process's in-flight bound (`factory.ParleyApp`), as `asgi.OVERLOADED` says it to others.
OVERLOADED = _error(
    503,
    "overloaded: too many requests in flight, retry shortly",
    "server_error",
    "overloaded",
    ((b"retry-after", b"1"),),
)

# Replies that are no answer, by outcome: (status, type, code, headers). `ok`, `plugin` and any
# outcome not named here are answers.
_REFUSED: dict[str, tuple[int, str, str, _Headers]] = {
    "rate_limited": (
        429,
        "requests",
        "rate_limit_exceeded",
        ((b"retry-after", str(routes_chat.RETRY_AFTER_SECONDS).encode()),),
    ),
    # Over a daily budget: retrying soon cannot help (OpenAI's own word for a spent quota).
    "budget": (429, "insufficient_quota", "insufficient_quota", ((b"x-should-retry", b"false"),)),
    "unsupported": (400, "invalid_request_error", "unsupported_content", ()),
    "media_refused": (413, "invalid_request_error", "media_too_large", ()),
    "error": (502, "server_error", "upstream_error", ()),  # every model route failed, or a picture's host
}
_TOO_FAST = _error(429, RATE_LIMITED_TEXT, *_REFUSED["rate_limited"][1:])


def _refusal(reply: Reply) -> FastJSON | None:
    refused = _REFUSED.get(reply.outcome)
    if refused is None:
        return None
    if reply.outcome == "rate_limited":
        return _TOO_FAST
    status, kind, code, headers = refused
    return _error(status, reply.text, kind, code, headers)


def _forward_error(message: str) -> dict[str, object]:
    return wire.error(message, "server_error", "engine_unavailable")


def _refused_caller(comps: Components, headers: Mapping[str, str]) -> FastJSON | None:
    """Engines answer only what the gateway forwarded; whoever answers checks the bearer token."""
    cfg = comps.cfg
    if cfg.settings.role == "engine" and not chat_forward.internal_caller_ok(
        cfg.internal_token, headers.get("x-parley-internal-token")
    ):
        return _GATEWAY_ONLY
    if comps.pipeline is not None and not routes_chat.authorised(
        cfg.secrets.get(cfg.bot.obj.spec.api.token), headers.get("authorization")
    ):
        return _UNAUTHORISED
    return None


def _no_such_model(asked: str, bot: str) -> FastJSON:
    return FastJSON(
        wire.error(
            f"The model `{asked}` does not exist; this bot is `{bot}`",
            "invalid_request_error",
            "model_not_found",
            "model",
        ),
        status_code=404,
    )


# --- POST /v1/chat/completions ------------------------------------------------------------------------

_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": wire.CompletionBody.model_json_schema()}},
    },
    "parameters": [
        {
            "name": "X-Parley-Track",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["stable", "canary"]},
        },
    ],
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed body (`invalid_request_error`, one readable message)"},
    401: {"description": "Missing or wrong bearer token"},
    404: {"description": "`model` is not this bot's name (`model_not_found`)"},
    413: {"description": "The body, or a picture in it, is over the bot's limits"},
    429: {"description": "Over the rate limit (`Retry-After`) or a daily budget (`insufficient_quota`)"},
    502: {"description": "No model route could answer"},
    503: {"description": "Overloaded, starting or stopping, or a dependency is down"},
}


@router.post(PATH, openapi_extra=_OPENAPI, responses=_ERRORS)
async def chat_completions(request: Request) -> Response:
    """Described here for the OpenAPI document; `serve_completions` answers it ahead of FastAPI."""
    return await answer(components(request), await request.body(), headers_of(request.scope))


async def answer(comps: Components, raw: bytes, headers: Mapping[str, str]) -> Response:
    """One Chat Completions request: checks, track, then the pipeline (or an engine, from the gateway)."""
    refused = _refused_caller(comps, headers)
    if refused is not None:
        return refused
    cfg = comps.cfg
    try:
        body = wire.parse(raw)
        if body.model != cfg.name:
            return _no_such_model(body.model, cfg.name)
        user = body.session_user
        # Checked on the gateway too, so that engines see no bad body; the history only where it is used.
        conversation = wire.conversation(body, with_history=user is None and comps.pipeline is not None)
    except wire.Invalid as exc:
        return _invalid(str(exc))
    x_parley_track = headers.get("x-parley-track")
    if x_parley_track not in (None, "stable", "canary"):
        return _invalid("X-Parley-Track must be stable or canary")
    if conversation.images and (
        too_large := http_media.oversized(conversation.images, None, cfg.bot.obj.spec.media)
    ):
        return _error(413, too_large, "invalid_request_error", "media_too_large")
    track = routes_chat.track_for(comps, x_parley_track, user or ANONYMOUS)
    pipeline = comps.pipeline
    if pipeline is None:  # the gateway: an engine of that track answers the caller's own bytes
        return await chat_forward.forward(
            comps.http,
            cfg,
            track=track,
            body=raw,
            headers=dict(headers),
            stream=False,
            path=PATH,
            error_body=_forward_error,
        )
    message = InboundMessage(
        bot=cfg.name,
        platform=routes_chat.API_PLATFORM,
        binding=routes_chat.API_PLATFORM,
        event_id=f"{_EVENT_PREFIX}{next(_event_numbers)}",
        chat_id=routes_chat.user_session(user) if user else ANONYMOUS,
        user_id=user or ANONYMOUS,
        text=conversation.text,
        attachments=tuple(image.to_attachment() for image in conversation.images),
        received_at=time.time(),
        track=track,
    )
    given = None
    if user is None or body.temperature is not None or body.reply_tokens is not None:
        given = Given(
            history=None if user else conversation.history,
            temperature=body.temperature,
            max_tokens=body.reply_tokens,
        )
    head = wire.Head(
        id=f"chatcmpl-{secrets.token_hex(12)}", created=int(time.time()), model=cfg.name, track=track
    )
    if not body.stream:
        reply = await pipeline.handle(message, given)
        return _refusal(reply) or FastJSON(
            wire.completion(head, reply.text, reply.finish_reason, reply.usage)
        )
    # The status goes out with the first event: a refusal decided before any text (rate limit, budget,
    # a failed model) is an HTTP error rather than a 200 stream.
    events = pipeline.stream(message, given)
    first = await anext(events)
    if first.reply is not None and (refusal := _refusal(first.reply)) is not None:
        await anext(events, None)  # lets the pipeline's generator finish
        return refusal
    return StreamingResponse(
        _chunks(first, events, _Encoder(head, with_usage=body.wants_usage)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _data(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


_DONE = b"data: [DONE]\n\n"


class _Encoder:
    """Pipeline events as `chat.completion.chunk`s: the role first, a chunk per delta, the finish
    reason, the usage when asked for, `[DONE]`. A reply that did not stream (a plugin's) is one chunk."""

    __slots__ = ("head", "streamed", "with_usage")

    def __init__(self, head: wire.Head, *, with_usage: bool) -> None:
        self.head = head
        self.with_usage = with_usage
        self.streamed = False

    def opening(self) -> bytes:
        return _data(wire.chunk(self.head, {"role": "assistant", "content": ""}))

    def __call__(self, event: StreamEvent) -> bytes:
        if event.delta:
            self.streamed = True
            return _data(wire.chunk(self.head, {"content": event.delta}))
        reply = event.reply
        if not event.done or reply is None:
            return b""
        refused = _REFUSED.get(reply.outcome)
        if refused is not None:  # part of the answer is out (a later tool round failed): end with the error
            return _data(wire.error(reply.text, refused[1], refused[2]))
        out = (
            [] if self.streamed or not reply.text else [_data(wire.chunk(self.head, {"content": reply.text}))]
        )
        out.append(_data(wire.chunk(self.head, {}, wire.finish_reason(reply.finish_reason))))
        if self.with_usage:
            out.append(_data(wire.usage_chunk(self.head, reply.usage)))
        out.append(_DONE)
        return b"".join(out)


async def _chunks(
    first: StreamEvent, rest: AsyncIterator[StreamEvent], encode: _Encoder
) -> AsyncIterator[bytes]:
    try:
        yield encode.opening()
        if chunk := encode(first):
            yield chunk
        async for event in rest:
            if chunk := encode(event):
                yield chunk
    except (RedisError, OSError) as exc:  # the 200 is sent: the stream ends with an error
        log.warning("completion stream lost a dependency", extra={"error": type(exc).__name__})
        yield _data(wire.error("temporarily unavailable", "server_error", "service_unavailable"))


async def serve_completions(scope: Scope, receive: Receive, send: Send) -> None:
    """`POST /v1/chat/completions` as a bare ASGI app, ahead of the middleware stack (`factory`)."""

    async def respond(comps: Components) -> Response:
        limit = max_body_bytes(comps.cfg.bot.obj.spec.media)
        raw = await read_body(receive, limit)
        if raw is None:
            message = f"body too large: the limit is {human_size(limit)}"
            return _error(413, message, "invalid_request_error", "request_too_large")
        try:
            return await answer(comps, raw, headers_of(scope))
        except (RedisError, OSError) as exc:  # sessions or limits out of reach: the caller may retry
            log.warning("completion lost a dependency", extra={"error": type(exc).__name__})
            return _UNAVAILABLE

    await serve(
        scope, receive, send, respond, log=log, failure="chat completion failed", errors=_server_error
    )


def _server_error(status: int, line: str) -> FastJSON:
    return _error(status, line, "server_error")


# --- GET /v1/models -----------------------------------------------------------------------------------


@functools.cache
def _created() -> int:
    """When this process first listed its model: what `created` says (OpenAI clients only show it)."""
    return int(time.time())


async def _models(request: Request, path: str, answer: dict[str, Any]) -> Response:
    comps = components(request)
    headers = headers_of(request.scope)
    refused = _refused_caller(comps, headers)
    if refused is not None:
        return refused
    if comps.pipeline is None:  # the gateway holds no API token: an engine checks it and answers
        track: Track = "canary" if headers.get("x-parley-track") == "canary" else "stable"
        return await chat_forward.forward(
            comps.http,
            comps.cfg,
            track=track,
            body=None,
            headers=headers,
            stream=False,
            path=path,
            method="GET",
            error_body=_forward_error,
        )
    return FastJSON(answer)


@router.get(MODELS_PATH)
async def list_models(request: Request) -> Response:
    """The one model this runtime serves: the bot."""
    bot = components(request).cfg.name
    return await _models(
        request, MODELS_PATH, {"object": "list", "data": [wire.model_object(bot, _created())]}
    )


@router.get(MODELS_PATH + "/{model:path}")  # a path: `openai/gpt-4o` is a model name elsewhere
async def retrieve_model(model: str, request: Request) -> Response:
    bot = components(request).cfg.name
    if model != bot:
        refused = _refused_caller(components(request), headers_of(request.scope))
        return refused or _no_such_model(model, bot)
    return await _models(request, f"{MODELS_PATH}/{model}", wire.model_object(bot, _created()))
