"""The little the hot routes need of HTTP, straight on ASGI: the body, the headers, a JSON answer.

Webhook acks and chat messages are served ahead of FastAPI (`factory.ParleyApp`). Starlette's
Request, routing and JSONResponse together cost more CPU than everything else such a request does
before the model is called (docs/benchmarks.md), so these routes read the ASGI scope themselves.
"""

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from parley_runtime.app.components import Components

__all__ = ["Disconnected", "FastJSON", "components_of", "headers_of", "query_of", "read_body"]


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


def components_of(scope: Scope) -> Components | None:
    """What the lifespan built, or None while the app starts or stops."""
    found = getattr(scope["app"].state, "components", None)
    return found if isinstance(found, Components) else None
