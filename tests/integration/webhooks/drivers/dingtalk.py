"""DingTalk (HTTP mode): robot callbacks signed with DingTalk's published algorithm
(base64(HMAC-SHA256(appSecret, f"{timestamp}\\n{appSecret}")), computed here independently of the
adapter); the reply goes to the message's sessionWebhook, which points at `FakeDingTalk`."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

from fakes.dingtalk_api import SESSION_PATH, FakeDingTalk
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.dingtalk.test_dingtalk_http import DATA

APP_KEY, APP_SECRET = "ding-key", "ding-secret"


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkDriver:
    platform = "dingtalk"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake
        self.binding = Binding(
            "helpdesk-dingtalk",
            "dingtalk",
            {"appKey": APP_KEY, "appSecret": APP_SECRET},
            {"apiBase": fake.url},
        )

    def payload(self, n: int) -> dict[str, Any]:
        """A group @-message as DingTalk posts it, with its own msgId and a live sessionWebhook."""
        event = copy.deepcopy(json.loads((DATA / "group_text.json").read_text()))
        event["msgId"] = f"msg{n:030d}"
        event["text"] = {"content": f" {question(n)}"}
        event["sessionWebhook"] = f"{self.fake.url}{SESSION_PATH}?session=s{n}"
        event["sessionWebhookExpiredTime"] = int(time.time() * 1000) + 3_600_000
        return dict(event)

    def _signed(self, body: bytes, secret: str, *, ago: float = 0) -> WebhookRequest:
        ts = str(int((time.time() - ago) * 1000))
        headers = {"timestamp": ts, "sign": dingtalk_sign(ts, secret), "content-type": "application/json"}
        return WebhookRequest(method="POST", headers=headers, body=body)

    def valid(self, n: int) -> WebhookRequest:
        return self._signed(dumps(self.payload(n)), APP_SECRET)

    def stale(self, n: int) -> WebhookRequest:
        return self._signed(dumps(self.payload(n)), APP_SECRET, ago=STALE_SECONDS)

    def forged(self, n: int) -> WebhookRequest:
        return self._signed(dumps(self.payload(n)), "guessed-secret")

    def junk(self) -> WebhookRequest:
        return self._signed(b"[1, 2", APP_SECRET)

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {})

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.calls(SESSION_PATH):
            body = r.json()
            text = body["markdown"]["text"] if body["msgtype"] == "markdown" else body["text"]["content"]
            found.append(Sent(text, {"session": r.query.get("session"), "msgtype": body["msgtype"]}))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"session": f"s{n}", "msgtype": "markdown"}  # model answers are Markdown


@contextlib.contextmanager
def driver() -> Iterator[DingTalkDriver]:
    with FakeDingTalk(APP_KEY, APP_SECRET) as fake:
        yield DingTalkDriver(fake)
