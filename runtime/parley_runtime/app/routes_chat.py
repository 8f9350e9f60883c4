"""`POST /api/v1/chat`: the synchronous HTTP chat API, JSON or Server-Sent Events.

`parley serve` and engines answer it through their pipeline; the gateway forwards it to an engine of
the caller's track (`chat_forward`). An engine answers with its own track, and only for requests the
gateway forwarded when it holds an internal token.
"""

import hmac
import itertools
import json
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from parley_runtime.app import chat_forward, errors
from parley_runtime.app.asgi import FastJSON, headers_of, query_of, read_body, serve
from parley_runtime.app.components import Components
from parley_runtime.app.state import components
from parley_runtime.core.messages import InboundMessage, Track
from parley_runtime.engine.pipeline import RATE_LIMITED_TEXT, StreamEvent
from parley_runtime.limits import memory as limits_memory

log = logging.getLogger("parley.chat")
router = APIRouter()

API_PLATFORM = "api"
PATH = "/api/v1/chat"

# Ids for messages of this API: unique per process start, cheap (they name log lines; nothing
# de-duplicates API calls). Session ids stay random: they key a conversation.
_EVENT_PREFIX = f"api-{secrets.token_hex(6)}-"
_event_numbers = itertools.count(1)


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(min_length=1, max_length=32_000)]
    user_id: Annotated[str | None, Field(max_length=256)] = None
    session_id: Annotated[str | None, Field(min_length=1, max_length=128)] = None


class ChatAnswer(BaseModel):
    reply: str
    session_id: str
    model: str
    track: Track


def _authorised(expected: str | None, authorization: str | None) -> bool:
    if not expected:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


def _sse(data: dict[str, object], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


# The body is parsed here rather than by FastAPI's dependency machinery: on the hottest route that
# machinery costs more CPU than the rest of the request handling (docs/benchmarks.md); the schema is
# declared for the OpenAPI document instead.
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ChatBody.model_json_schema()}},
    },
    "parameters": [
        {"name": "stream", "in": "query", "required": False, "schema": {"type": "boolean", "default": False}},
        {
            "name": "X-Parley-Track",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["stable", "canary"]},
        },
    ],
}
_TRUE = ("1", "true", "yes", "on")


def _wants_stream(query: Mapping[str, str]) -> bool:
    return query.get("stream", "false").lower() in _TRUE


MAX_BODY_BYTES = 256 * 1024  # a 32,000-character message in JSON, with room for escapes

# Rate limits are per minute over a sliding window (limits/): one window after a refusal the oldest
# counted message has left it, so a retry then is let in. Platforms get the short reply text instead.
RETRY_AFTER_SECONDS = math.ceil(limits_memory.WINDOW_SECONDS)
_TOO_FAST = FastJSON(
    {"error": RATE_LIMITED_TEXT},
    status_code=429,
    headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
)


_ERRORS: dict[int | str, dict[str, Any]] = {
    429: {"description": "Over the rate limit; `Retry-After` says when to retry"},
    503: {"description": "Overloaded (with `Retry-After`), starting or stopping, or a dependency is down"},
}


@router.post(PATH, response_model=ChatAnswer, openapi_extra=_OPENAPI, responses=_ERRORS)
async def chat(request: Request) -> Response:
    """Described here for the OpenAPI document; `serve_chat` answers it ahead of FastAPI."""
    body, scope = await request.body(), request.scope
    return await answer(components(request), body, headers_of(scope), stream=_wants_stream(query_of(scope)))


async def answer(comps: Components, raw: bytes, headers: Mapping[str, str], *, stream: bool) -> Response:
    """The whole chat API for one request body: checks, track choice, then pipeline or forward."""
    try:
        body = ChatBody.model_validate_json(raw)
    except ValidationError as exc:
        return errors.invalid_body(exc.errors(include_url=False))
    x_parley_track = headers.get("x-parley-track")
    cfg = comps.cfg
    if cfg.settings.role == "engine" and not chat_forward.internal_caller_ok(
        cfg.internal_token, headers.get("x-parley-internal-token")
    ):
        return FastJSON({"error": "engines answer the chat API only through the gateway"}, status_code=403)
    pipeline = comps.pipeline
    if pipeline is not None and not _authorised(
        cfg.secrets.get(cfg.bot.obj.spec.api.token), headers.get("authorization")
    ):
        return FastJSON(
            {"error": "missing or invalid bearer token"},
            status_code=401,
            headers=[(b"www-authenticate", b"Bearer")],
        )
    if x_parley_track not in (None, "stable", "canary"):
        return FastJSON({"error": "X-Parley-Track must be stable or canary"}, status_code=400)
    session_id = body.session_id or secrets.token_hex(16)
    user_id = body.user_id or session_id
    track: Track
    if cfg.settings.role == "engine":
        track = cfg.settings.track
    elif x_parley_track == "canary":
        track = "canary"
    elif x_parley_track == "stable":
        track = "stable"
    else:
        track = comps.routes.track(cfg.name, API_PLATFORM, user_id)
    if pipeline is None:  # the gateway: an engine of that track answers
        forwarded = body.model_copy(update={"session_id": session_id}).model_dump(exclude_none=True)
        return await chat_forward.forward(
            comps.http, cfg, track=track, body=forwarded, headers=dict(headers), stream=stream
        )
    message = InboundMessage(
        bot=cfg.name,
        platform=API_PLATFORM,
        binding=API_PLATFORM,
        event_id=f"{_EVENT_PREFIX}{next(_event_numbers)}",
        chat_id=session_id,
        user_id=user_id,
        text=body.message,
        received_at=time.time(),
        track=track,
    )
    if not stream:
        reply = await pipeline.handle(message)
        if reply.outcome == "rate_limited":
            return _TOO_FAST
        return FastJSON({"reply": reply.text, "session_id": session_id, "model": reply.model, "track": track})
    # The status goes out with the first event: the rate limit is decided before it, so a refusal is a
    # 429 rather than a 200 stream carrying the "too fast" text; a dependency lost before it is a 503.
    stream_events = pipeline.stream(message)
    first = await anext(stream_events)
    if first.reply is not None and first.reply.outcome == "rate_limited":
        await anext(stream_events, None)  # lets the pipeline's generator finish
        return _TOO_FAST

    def encode(event: StreamEvent) -> bytes:
        if event.done and event.reply is not None:
            final = ChatAnswer(
                reply=event.reply.text, session_id=session_id, model=event.reply.model, track=track
            )
            return _sse({"done": True, **final.model_dump()}, event="done")
        return _sse({"delta": event.delta}) if event.delta else b""

    async def events() -> AsyncIterator[bytes]:
        try:
            if chunk := encode(first):
                yield chunk
            async for event in stream_events:
                if chunk := encode(event):
                    yield chunk
        except (RedisError, OSError) as exc:  # the 200 is sent: the stream ends with an error event
            log.warning("chat stream lost a dependency", extra={"error": type(exc).__name__})
            yield _sse({"error": "temporarily unavailable"}, event="error")

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def serve_chat(scope: Scope, receive: Receive, send: Send) -> None:
    """`POST /api/v1/chat` as a bare ASGI app, ahead of the middleware stack."""

    async def respond(comps: Components) -> Response:
        raw = await read_body(receive, MAX_BODY_BYTES)
        if raw is None:
            return FastJSON({"error": "body too large"}, status_code=413)
        try:
            return await answer(comps, raw, headers_of(scope), stream=_wants_stream(query_of(scope)))
        except (RedisError, OSError) as exc:  # sessions or limits out of reach: the caller may retry
            log.warning("chat request lost a dependency", extra={"error": type(exc).__name__})
            return FastJSON({"error": "temporarily unavailable"}, status_code=503)

    await serve(scope, receive, send, respond, log=log, failure="chat request failed")
