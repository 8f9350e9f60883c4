"""Fake WeChat Official Account API, plus `FakeApi`: the recording HTTP server the G-platform fakes share.

`FakeApi` is a real Starlette app served on 127.0.0.1 by `fakes.served` (uvicorn in a thread). It records
every request and answers from per-path scripted replies first, then from `default_reply` (each
platform fake overrides it with that platform's normal behaviour).

    with FakeWeChatApi() as api:
        api.script("/cgi-bin/message/custom/send", Reply(429, {}, {"Retry-After": "3"}))
        ... point the adapter's apiBase at api.url ...
        assert api.calls("/cgi-bin/token")
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakes.served import Recorded, ServedApp, record


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """A recording HTTP server; subclasses answer like one platform in `default_reply`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[str, list[Reply]] = {}
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        self._served = ServedApp(app, loop="asyncio")
        self._served.reserve()  # `url` is known before the server starts

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def url(self) -> str:
        return self._served.base

    def __enter__(self) -> FakeApi:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()

    def script(self, path: str, *replies: Reply) -> None:
        """Queue replies for `path`, used in order before the default behaviour."""
        self._scripts.setdefault(path, []).extend(replies)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def default_reply(self, request: Recorded) -> Reply:
        return Reply(404, {"error": "no such path in the fake"})

    async def _endpoint(self, request: Request) -> Response:
        recorded = await record(request)
        self.requests.append(recorded)
        queue = self._scripts.get(recorded.path)
        reply = queue.pop(0) if queue else self.default_reply(recorded)
        content = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        return Response(content, reply.status, reply.headers, media_type="application/json")


class FakeWeChatApi(FakeApi):
    """`/cgi-bin/token` issues numbered tokens; `/cgi-bin/message/custom/send` accepts the current one."""

    def __init__(self, app_id: str = "wx-app", secret: str = "wx-secret") -> None:
        super().__init__()
        self.app_id, self.secret = app_id, secret
        self.issued: list[str] = []

    def default_reply(self, request: Recorded) -> Reply:
        if request.path == "/cgi-bin/token":
            q = request.query
            if (q.get("grant_type"), q.get("appid"), q.get("secret")) != (
                "client_credential",
                self.app_id,
                self.secret,
            ):
                return Reply(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
            self.issued.append(f"mp-token-{len(self.issued) + 1}")
            return Reply(200, {"access_token": self.issued[-1], "expires_in": 7200})
        if request.path == "/cgi-bin/message/custom/send":
            if not self.issued or request.query.get("access_token") != self.issued[-1]:
                return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            return Reply(200, {"errcode": 0, "errmsg": "ok"})
        return super().default_reply(request)


class FakeClock:
    """A settable clock for adapters and token caches (seconds since the epoch)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_context(
    platform: str,
    credentials: dict[str, str],
    *,
    http: Any,
    settings: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
    bot: str = "helpdesk",
    binding: str | None = None,
) -> Any:
    """A real `AdapterContext` for one binding (imported lazily so fakes load without the runtime)."""
    from parley_runtime.config.platforms import validate_settings
    from parley_runtime.observability.metrics import Metrics
    from parley_runtime.platforms.base import AdapterContext

    return AdapterContext(
        bot=bot,
        binding=binding or f"{bot}-{platform}",
        platform=platform,
        credentials=credentials,
        settings=validate_settings(platform, settings or {}),
        http=http,
        metrics=Metrics(),
        clock=clock or FakeClock(),
    )
