"""A fake QQ bot API on 127.0.0.1: `POST /app/getAppAccessToken` (token host), the v2 send routes, the
guild channel send route (JSON or multipart with `file_image`), and a CDN serving attachments.

fake = FakeQQ(app_id="11111111", secret="s")
with serve(fake.app) as base:   # settings: apiBase = base, tokenBase = base
    fake.add_file("pic", b"...", "image/jpeg")   # served at base + "/download/pic"
    ...
fake.tokens_issued  # how many tokens were handed out
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from fakes.http_api import Recorded, RecordingApi, Reply
from fakes.wechat_api import Reply as RawReply
from fakes.wechat_api import parse_form

TOKEN_PATH = "/app/getAppAccessToken"


class FakeQQ:
    def __init__(self, app_id: str, secret: str, *, expires_in: str = "7200") -> None:
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.api = RecordingApi()
        self.valid_tokens: set[str] = set()
        self.files: dict[str, RawReply] = {}
        self.downloads: list[str] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.api.default("POST", TOKEN_PATH, self._token)
        self.app = Starlette(routes=[Route("/download/{name}", self._download), Mount("/", app=self.api.app)])

    def route(self, target: str, openid: str) -> str:
        if target == "channel":
            path = f"/channels/{openid}/messages"
            self.api.default("POST", path, self._channel_message)
            return path
        path = f"/v2/{'users' if target == 'user' else 'groups'}/{openid}/messages"
        self.api.default("POST", path, self._message)
        return path

    def add_file(self, name: str, data: bytes, content_type: str, *, chunked: bool = False) -> str:
        """Serve `data` at `/download/<name>` (chunked: without a Content-Length); returns the path."""
        self.files[name] = RawReply(200, data, {"content-type": content_type}, chunked=chunked)
        return f"/download/{name}"

    @property
    def tokens_issued(self) -> int:
        return len(self.api.received(TOKEN_PATH))

    def revoke_all(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def _authorised(self, request: Recorded) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            return scheme == "QQBot" and token in self.valid_tokens

    def _token(self, request: Recorded) -> Reply:
        body = request.json()
        if body != {"appId": self.app_id, "clientSecret": self.secret}:
            return Reply(200, {"code": 100016, "message": "invalid appid or secret"})
        token = f"qq-token-{next(self._counter)}"
        with self._lock:
            self.valid_tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": self.expires_in})

    def _message(self, request: Recorded) -> Reply:
        if not self._authorised(request):
            return Reply(401, {"message": "token not exist or expire", "code": 11244})
        body: dict[str, Any] = request.json()
        return Reply(200, {"id": f"reply-{body.get('msg_seq')}", "timestamp": 1763691400})

    def _channel_message(self, request: Recorded) -> Reply:
        """`content`, `image` or `file_image` is required (post_messages.md); answers a Message."""
        if not self._authorised(request):
            return Reply(401, {"message": "token not exist or expire", "code": 11244})
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = parse_form(request)
            fields = {name: value[2].decode() for name, value in form.items() if value[0] is None}
            has_body = "file_image" in form or bool(fields.get("content"))
        else:
            fields = request.json()
            has_body = bool(fields.get("content") or fields.get("image"))
        if not has_body:
            return Reply(400, {"code": 50006, "message": "cannot send empty message"})
        channel = request.path.split("/")[2]
        return Reply(
            200, {"id": f"channel-reply-{len(self.api.received(request.path))}", "channel_id": channel}
        )

    async def _download(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.downloads.append(name)
        found = self.files.get(name)
        if found is None:
            return Response(b"<html>404</html>", 404, media_type="text/html")
        return found.response()
