"""Feishu/Lark: events encrypted with the Encrypt Key and signed like the platform (the adapter unit
tests' `produce`, which the official lark-oapi dispatcher accepts); replies recorded by `FakeFeishuApi`."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from fakes.feishu_api import FakeFeishuApi
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question, timestamp_now
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.feishu.test_feishu_webhook import DATA, KEY, TOKEN, lark_encrypt, produce

APP_ID, APP_SECRET = "cli_9f0example0000", "feishu-app-secret"
REPLY_PREFIX = "/open-apis/im/v1/messages/"
CHALLENGE = "ajls384kdjx98XX"


class FeishuDriver:
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeFeishuApi, platform: str) -> None:
        self.fake = fake
        self.platform = platform
        self.binding = Binding(
            f"helpdesk-{platform}",
            platform,
            {"appId": APP_ID, "appSecret": APP_SECRET, "verificationToken": TOKEN, "encryptKey": KEY},
            {"apiBase": fake.url},
        )

    def payload(self, n: int) -> dict[str, Any]:
        event = copy.deepcopy(json.loads((DATA / "v2_p2p_text.json").read_text()))
        event["header"]["event_id"] = f"ev-{n:032d}"
        message = event["event"]["message"]
        message["message_id"] = f"om_{n:032d}"
        message["content"] = json.dumps({"text": question(n)}, ensure_ascii=False)
        return dict(event)

    def valid(self, n: int) -> WebhookRequest:
        return produce(self.payload(n), nonce=f"nonce-{n}", ts=timestamp_now())

    def stale(self, n: int) -> WebhookRequest:
        return produce(self.payload(n), nonce=f"nonce-{n}", ts=timestamp_now(ago=STALE_SECONDS))

    def forged(self, n: int) -> WebhookRequest:
        """A well-formed event whose signature was made without the Encrypt Key."""
        request = produce(self.payload(n), ts=timestamp_now())
        h = request.headers
        stamp = h["x-lark-request-timestamp"] + h["x-lark-request-nonce"] + "not the encrypt key"
        forged = hashlib.sha256(stamp.encode() + request.body).hexdigest()
        return request.model_copy(update={"headers": {**h, "x-lark-signature": forged}})

    def junk(self) -> WebhookRequest:
        return WebhookRequest(method="POST", body=b"{not json")

    def handshake(self) -> tuple[WebhookRequest, dict[str, str]]:
        """Feishu's url_verification, encrypted and (like the SDK) unsigned; it wants the challenge back."""
        challenge = {"challenge": CHALLENGE, "token": TOKEN, "type": "url_verification"}
        body = dumps({"encrypt": lark_encrypt(json.dumps(challenge), KEY)})
        return WebhookRequest(method="POST", body=body), {"challenge": CHALLENGE}

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {"msg": "success"})

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.requests:
            if r.path.startswith(REPLY_PREFIX) and r.path.endswith("/reply"):
                body = r.json()
                message_id = r.path.removeprefix(REPLY_PREFIX).removesuffix("/reply")
                to = {"message_id": message_id, "msg_type": body["msg_type"]}
                content = json.loads(body["content"])
                if body["msg_type"] == "interactive":  # a model answer: Markdown in a card
                    found.append(Sent(content["body"]["elements"][0]["content"], to))
                else:
                    found.append(Sent(content["text"], to))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"message_id": f"om_{n:032d}", "msg_type": "interactive"}  # model answers are Markdown


@contextlib.contextmanager
def driver(platform: str = "feishu") -> Iterator[FeishuDriver]:
    with FakeFeishuApi(APP_ID, APP_SECRET) as fake:
        yield FeishuDriver(fake, platform)
