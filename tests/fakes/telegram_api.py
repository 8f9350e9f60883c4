"""A fake Telegram Bot API on 127.0.0.1: records sendMessage calls, serves getUpdates from a list.

fake = FakeTelegram(token="123:abc")
fake.pending.append({"update_id": 5, "message": {...}})
with serve(fake.api.app) as base:   # settings.apiBase = base
    ...
fake.sent()  # JSON bodies of sendMessage calls, in order
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fakes.http_api import Recorded, RecordingApi, Reply


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.api = RecordingApi()
        self.pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._next_message_id = 9000
        self.api.default("POST", self.path("sendMessage"), self._send_message)
        self.api.default("POST", self.path("getUpdates"), self._get_updates)
        self.api.default("POST", self.path("deleteWebhook"), Reply(200, {"ok": True, "result": True}))

    def path(self, method: str) -> str:
        return f"/bot{self.token}/{method}"

    def sent(self) -> list[Any]:
        return [r.json() for r in self.api.received(self.path("sendMessage"))]

    def polls(self) -> list[Any]:
        return [r.json() for r in self.api.received(self.path("getUpdates"))]

    def _send_message(self, request: Recorded) -> Reply:
        body = request.json()
        with self._lock:
            self._next_message_id += 1
            result = {
                "message_id": self._next_message_id,
                "chat": {"id": body["chat_id"]},
                "text": body["text"],
            }
        return Reply(200, {"ok": True, "result": result})

    def _get_updates(self, request: Recorded) -> Reply:
        offset = request.json().get("offset")
        with self._lock:
            if offset is not None:  # like Telegram: an offset confirms every earlier update
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            batch = list(self.pending)
        if not batch:
            time.sleep(0.02)  # a (very) short long-poll, so an idle poller does not spin
        return Reply(200, {"ok": True, "result": batch})
