"""The gateway's chat API: it answers nothing itself but forwards to an engine of the caller's track.

Engines of each track sit behind their own Service (`<bot>-engine`, `<bot>-engine-canary`); the
gateway picks the track (X-Parley-Track, else the user's hash bucket), sends the request there with
the internal token, and streams the engine's answer back unchanged. The caller's Authorization header
passes through: engines check `spec.api.token`, so the gateway needs neither that token nor model keys.
The OpenAI-compatible routes travel the same way (`path`, the caller's own bytes, errors in their shape).
"""

import hmac
import logging
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from parley_runtime.app.bootstrap import RuntimeConfig
from parley_runtime.core.messages import Track

__all__ = ["INTERNAL_TOKEN_HEADER", "engine_url", "forward", "internal_caller_ok"]

log = logging.getLogger("parley.forward")

INTERNAL_TOKEN_HEADER = "X-Parley-Internal-Token"  # noqa: S105 - a header name, not a value
# An LLM answer can take a while; a stream only needs the next chunk within `read`.
FORWARD_TIMEOUT = httpx.Timeout(connect=5.0, read=180.0, write=30.0, pool=10.0)
_PASSED_ON = ("authorization", "accept", "accept-language", "user-agent", "x-request-id")
_ANSWER_HEADERS = ("content-type", "cache-control", "x-accel-buffering", "www-authenticate", "retry-after")


def engine_url(cfg: RuntimeConfig, track: Track) -> str:
    configured = cfg.settings.engine_url_canary if track == "canary" else cfg.settings.engine_url_stable
    if configured:
        return configured.rstrip("/")
    service = f"{cfg.name}-engine-canary" if track == "canary" else f"{cfg.name}-engine"
    return f"http://{service}:8080"


def internal_caller_ok(expected: str | None, presented: str | None) -> bool:
    """An engine with an internal token only serves requests the gateway forwarded."""
    if expected is None:
        return True
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def _plain_error(message: str) -> dict[str, object]:
    return {"error": message}


async def forward(
    http: httpx.AsyncClient,
    cfg: RuntimeConfig,
    *,
    track: Track,
    body: dict[str, object] | bytes | None,
    headers: dict[str, str],
    stream: bool,
    path: str = "/api/v1/chat",
    method: str = "POST",
    error_body: Callable[[str], dict[str, object]] = _plain_error,
) -> Response:
    """The engine's answer (JSON or SSE) as our own; 503/504 with one line when it cannot be had.
    `body` is JSON to encode, or the caller's bytes sent on as they came (JSON too)."""
    out = {k: v for k, v in headers.items() if k.lower() in _PASSED_ON}
    out["X-Parley-Track"] = track
    if cfg.internal_token is not None:
        out[INTERNAL_TOKEN_HEADER] = cfg.internal_token
    if isinstance(body, bytes):
        out["Content-Type"] = "application/json"
    request = http.build_request(
        method,
        f"{engine_url(cfg, track)}{path}",
        json=body if isinstance(body, dict) else None,
        content=body if isinstance(body, bytes) else None,
        headers=out,
        params={"stream": "true"} if stream else None,
        timeout=FORWARD_TIMEOUT,
    )
    try:
        answer = await http.send(request, stream=True)
    except httpx.TimeoutException:
        log.warning("engine timed out", extra={"track": track})
        return JSONResponse(error_body(f"the {track} engine did not answer in time"), status_code=504)
    except httpx.TransportError as exc:
        log.warning("engine unreachable", extra={"track": track, "error": type(exc).__name__})
        why = type(exc).__name__
        return JSONResponse(error_body(f"the {track} engine is not reachable ({why})"), status_code=503)
    passed = {k: v for k, v in answer.headers.items() if k.lower() in _ANSWER_HEADERS}
    return StreamingResponse(
        _relay(answer, track),
        status_code=answer.status_code,
        headers=passed,
        background=BackgroundTask(answer.aclose),
    )


async def _relay(answer: httpx.Response, track: Track) -> AsyncIterator[bytes]:
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:  # the engine went away mid-answer: end the stream, say why in logs
        log.warning("engine answer cut off", extra={"track": track, "error": type(exc).__name__})
