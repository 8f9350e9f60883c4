"""A fake QQ bot API on 127.0.0.1: `POST /app/getAppAccessToken` (token host) and the v2 send routes.

fake = FakeQQ(app_id="11111111", secret="s")
with serve(fake.api.app) as base:   # settings: apiBase = base, tokenBase = base
    ...
fake.tokens_issued  # how many tokens were handed out
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from fakes.http_api import Recorded, RecordingApi, Reply

TOKEN_PATH = "/app/getAppAccessToken"


class FakeQQ:
    def __init__(self, app_id: str, secret: str, *, expires_in: str = "7200") -> None:
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.api = RecordingApi()
        self.valid_tokens: set[str] = set()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.api.default("POST", TOKEN_PATH, self._token)

    def route(self, target: str, openid: str) -> str:
        path = f"/v2/{'users' if target == 'user' else 'groups'}/{openid}/messages"
        self.api.default("POST", path, self._message)
        return path

    @property
    def tokens_issued(self) -> int:
        return len(self.api.received(TOKEN_PATH))

    def revoke_all(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def _token(self, request: Recorded) -> Reply:
        body = request.json()
        if body != {"appId": self.app_id, "clientSecret": self.secret}:
            return Reply(200, {"code": 100016, "message": "invalid appid or secret"})
        token = f"qq-token-{next(self._counter)}"
        with self._lock:
            self.valid_tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": self.expires_in})

    def _message(self, request: Recorded) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            valid = scheme == "QQBot" and token in self.valid_tokens
        if not valid:
            return Reply(401, {"message": "token not exist or expire", "code": 11244})
        body: dict[str, Any] = request.json()
        return Reply(200, {"id": f"reply-{body.get('msg_seq')}", "timestamp": 1763691400})
