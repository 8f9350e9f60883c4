"""`POST /api/v1/chat`: the synchronous HTTP chat API, JSON or Server-Sent Events.

A message may carry `images` and `audio` (the JSON shape of `platforms.http.media`), checked against the
bot's `spec.media` limits here (413 naming the item and both sizes); a reply's pictures or voice come
back as base64 `attachments`. Without a `session_id`, a caller's `user_id` names its session.

`parley serve` and engines answer it through their pipeline; the gateway forwards it to an engine of
the caller's track (`chat_forward`). An engine answers with its own track, and only for requests the
gateway forwarded when it holds an internal token.
"""

import hashlib
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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from parley_runtime.app import chat_forward, errors
from parley_runtime.app.asgi import FastJSON, headers_of, query_of, read_body, serve
from parley_runtime.app.components import Components
from parley_runtime.app.state import components
from parley_runtime.config.models import Media
from parley_runtime.core.media import human_size
from parley_runtime.core.messages import InboundMessage, Track
from parley_runtime.engine.pipeline import RATE_LIMITED_TEXT, Reply, StreamEvent
from parley_runtime.limits import memory as limits_memory
from parley_runtime.platforms.http import convert as http_convert
from parley_runtime.platforms.http import media as http_media

log = logging.getLogger("parley.chat")
router = APIRouter()

API_PLATFORM = "api"
PATH = "/api/v1/chat"

# Ids for messages of this API: unique per process start, cheap (they name log lines; nothing
# de-duplicates API calls). Session ids a caller does not name are random, or follow from its user_id.
_EVENT_PREFIX = f"api-{secrets.token_hex(6)}-"
_event_numbers = itertools.count(1)


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Media first: the message's check reads them (it may be empty when media comes with it).
    images: http_media.Images | None = None
    audio: http_media.AudioIn | None = None
    message: Annotated[str, Field(max_length=32_000)]
    user_id: Annotated[str | None, Field(max_length=256)] = None
    session_id: Annotated[str | None, Field(min_length=1, max_length=128)] = None

    _message = field_validator("message")(http_convert.text_or_media)


class AnswerAttachment(BaseModel):
    kind: str
    mime_type: str
    data: str | None = None  # base64
    url: str | None = None


class ChatAnswer(BaseModel):
    reply: str
    session_id: str
    model: str
    track: Track
    attachments: list[AnswerAttachment] | None = None  # only when the reply has pictures or voice


def user_session(user_id: str) -> str:
    """The session a user continues when it names none: the same for every call and every replica."""
    return "user-" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def _answer_fields(reply: Reply, session_id: str, track: Track) -> dict[str, object]:
    fields: dict[str, object] = {
        "reply": reply.text,
        "session_id": session_id,
        "model": reply.model,
        "track": track,
    }
    if reply.attachments:
        fields["attachments"] = http_media.reply_attachments(reply.attachments)
    return fields


def authorised(expected: str | None, authorization: str | None) -> bool:
    """Whether the caller presents `spec.api.token` as its bearer token (any caller when none is set)."""
    if not expected:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


def track_for(comps: Components, x_parley_track: str | None, user_id: str) -> Track:
    """An engine's own track; on the gateway (or serve) the tester's header, else the user's bucket."""
    cfg = comps.cfg
    if cfg.settings.role == "engine":
        return cfg.settings.track
    if x_parley_track == "canary":
        return "canary"
    if x_parley_track == "stable":
        return "stable"
    return comps.routes.track(cfg.name, API_PLATFORM, user_id)


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


def max_body_bytes(limits: Media) -> int:
    """The text, plus the largest media the bot takes, base64-encoded: several pictures share it."""
    return MAX_BODY_BYTES + http_media.largest_inline_bytes(limits)


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
    413: {"description": "The body, or an image or audio in it, is over the bot's media limits"},
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
    if pipeline is not None and not authorised(
        cfg.secrets.get(cfg.bot.obj.spec.api.token), headers.get("authorization")
    ):
        return FastJSON(
            {"error": "missing or invalid bearer token"},
            status_code=401,
            headers=[(b"www-authenticate", b"Bearer")],
        )
    if x_parley_track not in (None, "stable", "canary"):
        return FastJSON({"error": "X-Parley-Track must be stable or canary"}, status_code=400)
    if (body.images or body.audio) and (
        too_large := http_media.oversized(body.images, body.audio, cfg.bot.obj.spec.media)
    ):
        return FastJSON({"error": too_large}, status_code=413)
    if body.session_id:
        session_id = body.session_id
    elif body.user_id:  # the same user continues the same conversation
        session_id = user_session(body.user_id)
    else:
        session_id = secrets.token_hex(16)
    user_id = body.user_id or session_id
    track = track_for(comps, x_parley_track, user_id)
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
        attachments=http_media.attachments(body.images, body.audio) if body.images or body.audio else (),
        received_at=time.time(),
        track=track,
    )
    if not stream:
        reply = await pipeline.handle(message)
        if reply.outcome == "rate_limited":
            return _TOO_FAST
        return FastJSON(_answer_fields(reply, session_id, track))
    # The status goes out with the first event: the rate limit is decided before it, so a refusal is a
    # 429 rather than a 200 stream carrying the "too fast" text; a dependency lost before it is a 503.
    stream_events = pipeline.stream(message)
    first = await anext(stream_events)
    if first.reply is not None and first.reply.outcome == "rate_limited":
        await anext(stream_events, None)  # lets the pipeline's generator finish
        return _TOO_FAST

    def encode(event: StreamEvent) -> bytes:
        if event.done and event.reply is not None:
            return _sse({"done": True, **_answer_fields(event.reply, session_id, track)}, event="done")
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
        limit = max_body_bytes(comps.cfg.bot.obj.spec.media)
        raw = await read_body(receive, limit)
        if raw is None:
            return FastJSON({"error": f"body too large: the limit is {human_size(limit)}"}, status_code=413)
        try:
            return await answer(comps, raw, headers_of(scope), stream=_wants_stream(query_of(scope)))
        except (RedisError, OSError) as exc:  # sessions or limits out of reach: the caller may retry
            log.warning("chat request lost a dependency", extra={"error": type(exc).__name__})
            return FastJSON({"error": "temporarily unavailable"}, status_code=503)

    await serve(scope, receive, send, respond, log=log, failure="chat request failed")
