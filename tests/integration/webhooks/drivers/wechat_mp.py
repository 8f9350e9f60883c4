"""WeChat Official Account, plain and safe mode: requests signed (and in safe mode encrypted) by
wechatpy (the adapter unit tests' `plain_request` / `safe_request`) at the current time (the gateway
refuses stale timestamps), the GET check with the official docs' worked example's echostr and token
signed anew, customer-service replies recorded by `FakeWeChatApi`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fakes.wechat_api import FakeWeChatApi
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question, timestamp_now
from integration.webhooks.harness import Binding
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.wechat_mp.test_wechat_mp_webhook import (
    PLAIN,
    SAFE_CREDS,
    VECTORS,
    plain_request,
    safe_request,
    sign,
)

SEND_PATH = "/cgi-bin/message/custom/send"
OPENID = "oEXAMPLEfollower0000000000001"


def text_message(n: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{question(n)}]]></Content><MsgId>{24321987654321000 + n}</MsgId></xml>"
    )


class WeChatMpDriver:
    platform = "wechat-mp"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeWeChatApi, *, safe: bool) -> None:
        self.fake = fake
        self.safe = safe
        creds = SAFE_CREDS if safe else PLAIN
        name = "helpdesk-mp-safe" if safe else "helpdesk-mp"
        self.binding = Binding(name, "wechat-mp", dict(creds), {"apiBase": fake.url})

    def valid(self, n: int, *, ago: float = 0) -> WebhookRequest:
        if self.safe:
            return safe_request(text_message(n), ts=timestamp_now(ago))
        return plain_request(text_message(n), ts=timestamp_now(ago))

    def stale(self, n: int) -> WebhookRequest:
        return self.valid(n, ago=STALE_SECONDS)

    def forged(self, n: int) -> WebhookRequest:
        good = self.valid(n)
        key = "msg_signature" if self.safe else "signature"
        return good.model_copy(update={"query": {**good.query, key: "f" * 40}})

    def junk(self) -> WebhookRequest:
        if self.safe:  # the signature is checked on the Encrypt element, so junk XML fails first
            return safe_request(ts=timestamp_now()).model_copy(update={"body": b"{}"})
        return plain_request("<xml><unclosed>", ts=timestamp_now())

    def handshake(self) -> tuple[WebhookRequest, bytes]:
        """The GET check (the same in both modes): WeChat expects `echostr` back verbatim. Plain mode uses
        the docs' worked example (token AAAAA, its nonce and echostr); both are signed by wechatpy's
        signer at the current time."""
        if self.safe:
            token, nonce, echostr = SAFE_CREDS["token"], "n-9", "7166391845235212345"
        else:
            case = VECTORS["wechat_oa_plain_doc"]["cases"][1]
            token, nonce, echostr = case["token"], case["nonce"], case["echostr"]
        ts = timestamp_now()
        query = {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echostr}
        return WebhookRequest(method="GET", query=query), echostr.encode()

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, body) == (200, b"success")

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.calls(SEND_PATH):
            body = r.json()
            found.append(
                Sent(body["text"]["content"], {"touser": body["touser"], "msgtype": body["msgtype"]})
            )
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"touser": OPENID, "msgtype": "text"}


@contextlib.contextmanager
def driver(*, safe: bool = False) -> Iterator[WeChatMpDriver]:
    creds = SAFE_CREDS if safe else PLAIN
    with FakeWeChatApi(creds["appId"], creds["appSecret"]) as fake:
        yield WeChatMpDriver(fake, safe=safe)
