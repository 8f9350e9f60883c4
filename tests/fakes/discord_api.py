"""A fake Discord API on 127.0.0.1 for interaction follow-ups (`PATCH …/messages/@original`, POST webhook).

fake = FakeDiscord(application_id="1", token="tok")
with serve(fake.api.app) as base:   # settings.apiBase = base + "/api/v10"
    ...
"""

from __future__ import annotations

from fakes.http_api import Recorded, RecordingApi, Reply

PREFIX = "/api/v10"


class FakeDiscord:
    def __init__(self, application_id: str, token: str) -> None:
        self.webhook = f"{PREFIX}/webhooks/{application_id}/{token}"
        self.original = f"{self.webhook}/messages/@original"
        self.api = RecordingApi()
        self.api.default("PATCH", self.original, self._message)
        self.api.default("POST", self.webhook, self._message)

    def _message(self, request: Recorded) -> Reply:
        return Reply(200, {"id": "1310000000000009999", "content": request.json().get("content")})
