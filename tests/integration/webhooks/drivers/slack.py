"""Slack Events API: callbacks signed by slack_sdk's SignatureVerifier at the current time (the app runs
on the real clock, and Slack signatures expire after five minutes); `chat.postMessage` recorded by
`FakeSlack`."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterator
from typing import Any

from slack_sdk.signature import SignatureVerifier

from fakes.http_api import serve
from fakes.slack_api import FakeSlack
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.slack.test_slack_webhook import DATA, SECRET

BOT_TOKEN = "xoxb-webhook-e2e"
CHANNEL = "D0DIRECTCH"


def event(n: int) -> dict[str, Any]:
    """A direct message event with its own event_id and ts."""
    raw = copy.deepcopy(json.loads((DATA / "message_im.json").read_text()))
    raw["event_id"] = f"Ev0E2E{n:06d}"
    raw["event"]["ts"] = raw["event"]["event_ts"] = f"1763700010.{n:06d}"
    raw["event"]["client_msg_id"] = f"2b7e1c1e-1111-4a4a-9d9d-{n:012d}"
    raw["event"]["text"] = question(n)
    return dict(raw)


def slack_signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> WebhookRequest:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    headers = {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
        "content-type": "application/json",
    }
    return WebhookRequest(method="POST", headers=headers, body=body)


class SlackDriver:
    platform = "slack"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeSlack, base: str) -> None:
        self.fake = fake
        self.binding = Binding(
            "helpdesk-slack",
            "slack",
            {"botToken": BOT_TOKEN, "signingSecret": SECRET},
            {"apiBase": f"{base}/api"},
        )

    def valid(self, n: int) -> WebhookRequest:
        return slack_signed(dumps(event(n)))

    def stale(self, n: int) -> WebhookRequest:
        return slack_signed(dumps(event(n)), timestamp=int(time.time() - STALE_SECONDS))

    def forged(self, n: int) -> WebhookRequest:
        return slack_signed(dumps(event(n)), secret="0" * len(SECRET))

    def junk(self) -> WebhookRequest:
        return slack_signed(b"payload=%7B%22type%22")  # a form body: only the Events API is served

    def handshake(self) -> tuple[WebhookRequest, dict[str, str]]:
        body = (DATA / "url_verification.json").read_bytes()
        return slack_signed(body), {"challenge": json.loads(body)["challenge"]}

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {})

    def sent(self) -> list[Sent]:
        return [
            Sent(p["text"], {"channel": p["channel"], "thread_ts": p.get("thread_ts")})
            for p in self.fake.posted()
        ]

    def address(self, n: int) -> dict[str, Any]:
        return {"channel": CHANNEL, "thread_ts": None}  # a DM is answered in the conversation, not a thread


@contextlib.contextmanager
def driver() -> Iterator[SlackDriver]:
    fake = FakeSlack(BOT_TOKEN)
    with serve(fake.api.app) as base:
        yield SlackDriver(fake, base)
