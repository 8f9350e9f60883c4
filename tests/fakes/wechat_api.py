"""Fake WeChat Official Account API, plus `FakeApi`: the recording HTTP server the G-platform fakes share.

`FakeApi` is a real Starlette app served on 127.0.0.1 by `fakes.served` (uvicorn in a thread). It records
every request and answers from per-path scripted replies first, then from `default_reply` (each
platform fake overrides it with that platform's normal behaviour).

    with FakeWeChatApi() as api:
        api.script("/cgi-bin/message/custom/send", Reply(429, {}, {"Retry-After": "3"}))
        ... point the adapter's apiBase at api.url ...
        assert api.calls("/cgi-bin/token")

`MediaStore` is the temporary-media API WeChat and WeCom share (`cgi-bin/media/upload` and
`cgi-bin/media/get`), as their docs describe it: an upload (multipart field `media`) answers a
`media_id`; `media/get` answers the file's bytes, or a JSON errcode object in their place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fakes.served import Recorded, ServedApp, record

UPLOAD_PATH = "/cgi-bin/media/upload"
MEDIA_PATH = "/cgi-bin/media/get"


@dataclass(frozen=True)
class Reply:
    """An answer; a bytes `body` is sent as is, and with `chunked` without a Content-Length."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False

    def response(self) -> Response:
        content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        if self.chunked:
            pieces: Iterator[bytes] = (content[i : i + 4096] for i in range(0, len(content), 4096))
            return StreamingResponse(pieces, self.status, self.headers, media_type="application/json")
        return Response(content, self.status, self.headers, media_type="application/json")


def parse_form(request: Recorded) -> dict[str, tuple[str | None, str, bytes]]:
    """A multipart/form-data body as {field: (filename, content type, bytes)}."""
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.body)
    form: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        data = part.get_payload(decode=True)
        name = str(part.get_param("name", header="content-disposition"))
        form[name] = (part.get_filename(), part.get_content_type(), data if isinstance(data, bytes) else b"")
    return form


@dataclass(frozen=True)
class Upload:
    """One temporary media upload as the fake received it."""

    media_type: str  # the `type` query parameter
    filename: str | None
    content_type: str
    data: bytes
    media_id: str


class MediaStore:
    """Files by media_id, served by `media/get`; uploads get new ids and are served back too."""

    def __init__(self, prefix: str, *, errcode_on_success: bool) -> None:
        self._prefix = prefix
        self._errcode_on_success = errcode_on_success  # WeCom adds errcode 0, WeChat does not
        self.files: dict[str, Reply] = {}
        self.uploads: list[Upload] = []

    def add(self, media_id: str, data: bytes, content_type: str, *, chunked: bool = False) -> None:
        headers = {"content-type": content_type, "content-disposition": f'attachment; filename="{media_id}"'}
        self.files[media_id] = Reply(200, data, headers, chunked=chunked)

    def get(self, request: Recorded) -> Reply:
        found = self.files.get(request.query.get("media_id", ""))
        return found or Reply(200, {"errcode": 40007, "errmsg": "invalid media_id"})

    def upload(self, request: Recorded) -> Reply:
        form = parse_form(request)
        if "media" not in form:
            return Reply(200, {"errcode": 41005, "errmsg": "media data missing"})
        filename, content_type, data = form["media"]
        media_type = request.query.get("type", "")
        media_id = f"{self._prefix}-media-{len(self.uploads) + 1}"
        self.uploads.append(Upload(media_type, filename, content_type, data, media_id))
        self.add(media_id, data, content_type)
        answer: dict[str, Any] = {"type": media_type, "media_id": media_id, "created_at": 1700000000}
        if self._errcode_on_success:
            answer = {"errcode": 0, "errmsg": "", **answer, "created_at": "1700000000"}
        return Reply(200, answer)


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
        return reply.response()


class FakeWeChatApi(FakeApi):
    """`/cgi-bin/token` issues numbered tokens; `/cgi-bin/message/custom/send` and the media API accept
    the current one."""

    def __init__(self, app_id: str = "wx-app", secret: str = "wx-secret") -> None:
        super().__init__()
        self.app_id, self.secret = app_id, secret
        self.issued: list[str] = []
        self.media = MediaStore("mp", errcode_on_success=False)

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
        stale = not self.issued or request.query.get("access_token") != self.issued[-1]
        if request.path in ("/cgi-bin/message/custom/send", UPLOAD_PATH, MEDIA_PATH) and stale:
            return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
        if request.path == "/cgi-bin/message/custom/send":
            return Reply(200, {"errcode": 0, "errmsg": "ok"})
        if request.path == UPLOAD_PATH:
            return self.media.upload(request)
        if request.path == MEDIA_PATH:
            return self.media.get(request)
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
