"""Fake DingTalk: OpenAPI + session webhook (HTTP) and a Stream gateway (WebSocket, `websockets`).

HTTP runs on `FakeApi` (uvicorn); the Stream socket on a separate `websockets` server, both on
127.0.0.1. Each Stream connection plays the next scripted list of frames, records every frame the
client sends back, and then either closes (so the client must reconnect) or, for the last script,
stays open until the client leaves. `files` holds what robot messages' downloadCodes stand for:
`messageFiles/download` answers a `downloadUrl` on this server (like DingTalk's short-lived OSS
link, no token needed), and a code in `chunked` is served without Content-Length.

    with FakeDingTalk(scripts=[[ping_frame("p-1")]]) as fake:
        ... apiBase = fake.url ...
        fake.wait_for_replies(1)
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from websockets.asyncio.server import ServerConnection, serve

from fakes.served import record
from fakes.wechat_api import FakeApi, Recorded, Reply

__all__ = ["FakeDingTalk", "Recorded", "Reply", "bot_frame", "ping_frame"]

OPEN_PATH = "/v1.0/gateway/connections/open"
SESSION_PATH = "/robot/sendBySession"
DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
FILES_PREFIX = "/oss/robot-files/"


def bot_frame(message_id: str, data: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "topic": "/v1.0/im/bot/messages/get",
        "messageId": message_id,
        "contentType": "application/json",
        "time": str(int(time.time() * 1000)),
    }
    return {"specVersion": "1.0", "type": "CALLBACK", "headers": headers, "data": json.dumps(data)}


def ping_frame(message_id: str, opaque: str = "opaque-1") -> dict[str, Any]:
    headers = {"topic": "ping", "messageId": message_id, "contentType": "application/json"}
    return {
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": headers,
        "data": json.dumps({"opaque": opaque}),
    }


def system_frame(topic: str, message_id: str) -> dict[str, Any]:
    headers = {"topic": topic, "messageId": message_id, "contentType": "application/json"}
    return {"specVersion": "1.0", "type": "SYSTEM", "headers": headers, "data": "{}"}


class FakeDingTalk(FakeApi):
    def __init__(
        self,
        app_key: str = "ding-key",
        app_secret: str = "ding-secret",
        scripts: list[list[dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.app_key, self.app_secret = app_key, app_secret
        self.scripts = list(scripts or [])
        self.tickets: list[str] = []
        self.used_tickets: list[str] = []
        self.replies: list[dict[str, Any]] = []  # frames the Stream client sent back, in order
        self.connections = 0
        self.issued_tokens: list[str] = []
        self.files: dict[str, bytes] = {}  # downloadCode → the file's bytes
        self.chunked: set[str] = set()  # downloadCodes served without Content-Length
        self._ws_loop = asyncio.new_event_loop()
        self._ws_ready = threading.Event()
        self._ws_stop: asyncio.Future[None] | None = None
        self._ws_thread = threading.Thread(target=self._run_ws, daemon=True)
        self.ws_port = 0

    # -- WebSocket side -------------------------------------------------------------------------
    def _run_ws(self) -> None:
        asyncio.set_event_loop(self._ws_loop)
        self._ws_loop.run_until_complete(self._serve_ws())

    async def _serve_ws(self) -> None:
        self._ws_stop = self._ws_loop.create_future()
        async with serve(self._ws_handler, "127.0.0.1", 0) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ws_ready.set()
            await self._ws_stop

    async def _ws_handler(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query) if ws.request else {}
        ticket = query.get("ticket", [""])[0]
        if ticket not in self.tickets or ticket in self.used_tickets:
            await ws.close(4001, "bad ticket")
            return
        self.used_tickets.append(ticket)
        index = self.connections
        self.connections += 1
        script = self.scripts[index] if index < len(self.scripts) else []
        for frame in script:
            await ws.send(json.dumps(frame))
        expected = sum(1 for f in script if f["headers"]["topic"] not in ("disconnect",))
        try:
            for _ in range(expected):
                self.replies.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
            if index + 1 < len(self.scripts):
                await ws.close()
            else:
                await ws.wait_closed()
        except Exception:  # the client went away early; the test's assertions will say so
            return

    def __enter__(self) -> FakeDingTalk:
        super().__enter__()
        self._ws_thread.start()
        self._ws_ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws_stop is not None:
            self._ws_loop.call_soon_threadsafe(self._ws_stop.set_result, None)
        self._ws_thread.join(timeout=10)
        self._ws_loop.close()
        super().__exit__(*exc)

    def wait_for_replies(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.replies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.replies

    # -- HTTP side ------------------------------------------------------------------------------
    def default_reply(self, request: Recorded) -> Reply:
        if request.path == OPEN_PATH:
            body = request.json()
            if (body.get("clientId"), body.get("clientSecret")) != (self.app_key, self.app_secret):
                return Reply(401, {"code": "InvalidClient", "message": "bad client"})
            self.tickets.append(f"ticket-{len(self.tickets) + 1}")
            return Reply(
                200, {"endpoint": f"ws://127.0.0.1:{self.ws_port}/connect", "ticket": self.tickets[-1]}
            )
        if request.path == "/v1.0/oauth2/accessToken":
            body = request.json()
            if (body.get("appKey"), body.get("appSecret")) != (self.app_key, self.app_secret):
                return Reply(400, {"code": "invalidClientIdOrSecret", "message": "bad"})
            self.issued_tokens.append(f"ding-token-{len(self.issued_tokens) + 1}")
            return Reply(200, {"accessToken": self.issued_tokens[-1], "expireIn": 7200})
        if request.path.startswith("/v1.0/robot/"):
            token = request.headers.get("x-acs-dingtalk-access-token")
            if not self.issued_tokens or token != self.issued_tokens[-1]:
                return Reply(401, {"code": "InvalidAuthentication", "message": "token invalid"})
            if request.path == DOWNLOAD_PATH:
                return self._download_url(request.json())
            return Reply(200, {"processQueryKey": "pqk-1"})
        if request.path.startswith(FILES_PREFIX) and request.method == "GET":
            data = self.files.get(request.path.removeprefix(FILES_PREFIX))
            if data is None:
                return Reply(403, b"<Error><Code>AccessDenied</Code></Error>")
            return Reply(200, data, {"content-type": "application/octet-stream"})
        if request.path == SESSION_PATH:
            return Reply(200, {"errcode": 0, "errmsg": "ok"})
        return super().default_reply(request)

    def _download_url(self, body: dict[str, Any]) -> Reply:
        code = body.get("downloadCode")
        if body.get("robotCode") != self.app_key or code not in self.files:
            return Reply(400, {"code": "invalidParameter.downloadCode", "message": "downloadCode is invalid"})
        return Reply(200, {"downloadUrl": f"{self.url}{FILES_PREFIX}{code}"})

    async def _endpoint(self, request: Request) -> Response:
        code = request.url.path.removeprefix(FILES_PREFIX)
        if not request.url.path.startswith(FILES_PREFIX) or code not in self.chunked:
            return await super()._endpoint(request)
        self.requests.append(await record(request))
        data = self.files[code]
        pieces = [data[i : i + 16_384] for i in range(0, len(data), 16_384)]
        return StreamingResponse(iter(pieces), media_type="application/octet-stream")
