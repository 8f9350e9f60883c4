"""A recording fake HTTP API on 127.0.0.1 (served by `fakes.served`, whose `serve` is re-exported).

`RecordingApi` answers scripted replies per (method, path) and records every request it received, so a
test can assert on URL, headers and body. It is the fake callback receiver of the generic `http`
platform, and the base of `telegram_api`, `slack_api`, `discord_api` and `qq_api`.

    api = RecordingApi()
    api.script("POST", "/hook", status=429, headers={"retry-after": "7"})
    with serve(api.app) as base_url:
        ...  # the code under test talks to base_url
    assert api.requests[0].json() == {...}
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakes.served import Recorded, free_socket, record, serve

__all__ = ["Recorded", "RecordingApi", "Reply", "free_socket", "serve"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        content = b"" if self.body is None else json.dumps(self.body).encode()
        media = "application/json" if self.body is not None else None
        return Response(content, status_code=self.status, headers=self.headers, media_type=media)


Handler = Callable[[Recorded], Reply]


class RecordingApi:
    """Scripted replies are used once each, in order; then the route's default (or 404) answers."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripted: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._defaults: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PATCH"])])

    def script(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self._scripted[(method, path)].append(Reply(status, body, headers or {}))

    def default(self, method: str, path: str, handler: Handler | Reply) -> None:
        self._defaults[(method, path)] = handler if callable(handler) else (lambda _r, reply=handler: reply)

    def received(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def _endpoint(self, request: Request) -> Response:
        recorded = await record(request)
        key = (recorded.method, recorded.path)
        with self._lock:
            self.requests.append(recorded)
            queue = self._scripted.get(key)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            return scripted.response()
        handler = self._defaults.get(key)
        return handler(recorded).response() if handler else Reply(404, {"error": "not found"}).response()
