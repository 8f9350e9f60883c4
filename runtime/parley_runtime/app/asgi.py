"""The little the hot routes need of HTTP, straight on ASGI: the body, the headers, a JSON answer.

Webhook acks and chat messages are served ahead of FastAPI (`factory.ParleyApp`). Starlette's
Request, routing and JSONResponse together cost more CPU than everything else such a request does
before the model is called (docs/benchmarks.md), so these routes read the ASGI scope themselves.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from parley_runtime.app.components import Components

__all__ = ["OVERLOADED", "Disconnected", "FastJSON", "headers_of", "query_of", "read_body", "serve"]


class Disconnected(Exception):
    """The client went away before its whole body arrived."""


class FastJSON(Response):
    """A JSON answer encoded once by orjson, with exactly the two headers it needs."""

    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.status_code = status_code
        self.body = orjson.dumps(content)
        self.background = None
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            *(headers or ()),
        ]


# Past the process's in-flight bound (`factory.ParleyApp`): answered at once, never queued or dropped.
# One immutable answer, built once: the overloaded path must cost less than the requests it turns away.
OVERLOADED = FastJSON(
    {"error": "overloaded: too many requests in flight, retry shortly"},
    status_code=503,
    headers=[(b"retry-after", b"1")],
)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def headers_of(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name (servers lower-case them; the last of repeats wins)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def query_of(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


def _plain_error(status: int, line: str) -> Response:
    return FastJSON({"error": line}, status_code=status)


def _components_of(scope: Scope) -> Components | None:
    """What the lifespan built, or None while the app starts or stops."""
    found = getattr(scope["app"].state, "components", None)
    return found if isinstance(found, Components) else None


async def serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    answer: Callable[[Components], Awaitable[Response]],
    *,
    log: logging.Logger,
    failure: str,
    errors: Callable[[int, str], Response] | None = None,
) -> None:
    """Send what `answer` makes of this request. Ahead of the middleware stack a route answers every
    failure itself: 503 while the app starts or stops, nothing to a client that went away, and a
    one-line 500 for a bug, with the traceback logged as `failure`. `errors` shapes those two answers
    (status, line) for a route whose clients expect another error shape than `{"error": line}`."""
    shape = errors or _plain_error
    comps = _components_of(scope)
    if comps is None:
        response = shape(503, "not ready")
    else:
        try:
            response = await answer(comps)
        except Disconnected:
            return
        except Exception:
            log.exception(failure, extra={"path": scope["path"]})
            response = shape(500, "internal error")
    await response(scope, receive, send)
