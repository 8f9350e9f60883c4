"""A fake Slack Web API on 127.0.0.1 that records `chat.postMessage` calls.

fake = FakeSlack()
fake.api.script("POST", "/api/chat.postMessage", body={"ok": False, "error": "ratelimited"})
with serve(fake.api.app) as base:   # settings.apiBase = base + "/api"
    ...
"""

from __future__ import annotations

from typing import Any

from fakes.http_api import Recorded, RecordingApi, Reply

POST_MESSAGE = "/api/chat.postMessage"


class FakeSlack:
    def __init__(self, token: str = "xoxb-fake") -> None:
        self.token = token
        self.api = RecordingApi()
        self.api.default("POST", POST_MESSAGE, self._post_message)

    def posted(self) -> list[Any]:
        return [r.json() for r in self.api.received(POST_MESSAGE)]

    def _post_message(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        body = request.json()
        return Reply(200, {"ok": True, "channel": body.get("channel"), "ts": "1763700100.000100"})
