"""WeCom (app callback): POSTs encrypted and signed by wechatpy's WeChatCrypto (the adapter unit tests'
`produce`), the GET URL check with the echostr of Tencent's published sample encrypted and signed anew by
wechatpy at the current time (the gateway refuses stale timestamps), replies recorded by `FakeWeComApi`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from fakes.wecom_api import FakeWeComApi
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question, timestamp_now
from integration.webhooks.harness import Binding
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.wecom.test_wecom_webhook import CREDS, B, produce

SEND_PATH = "/cgi-bin/message/send"
USER = "ZhangSan"


def text_message(n: int, user: str = USER) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CREDS['corpId']}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
        "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{question(n)}]]></Content><MsgId>{7302251234567890000 + n}</MsgId>"
        f"<AgentID>{CREDS['agentId']}</AgentID></xml>"
    )


class WeComDriver:
    platform = "wecom"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeWeComApi) -> None:
        self.fake = fake
        self.binding = Binding("helpdesk-wecom", "wecom", dict(CREDS), {"apiBase": fake.url})

    def valid(self, n: int) -> WebhookRequest:
        return produce(text_message(n), nonce=f"nonce{n}", ts=timestamp_now())

    def stale(self, n: int) -> WebhookRequest:
        return produce(text_message(n), nonce=f"nonce{n}", ts=timestamp_now(ago=STALE_SECONDS))

    def forged(self, n: int) -> WebhookRequest:
        good = self.valid(n)
        return good.model_copy(update={"query": {**good.query, "msg_signature": "0" * 40}})

    def junk(self) -> WebhookRequest:
        query = {"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"}
        return WebhookRequest(method="POST", query=query, body=b"not xml at all")

    def handshake(self) -> tuple[WebhookRequest, bytes]:
        """The GET check with the plaintext of Tencent's published sample, which WeCom expects back byte
        for byte."""
        plain, ts, nonce = B["get"]["reply"], timestamp_now(), B["get"]["nonce"]
        crypto = WeChatCrypto(CREDS["token"], CREDS["encodingAESKey"], CREDS["corpId"])
        echostr = PrpCrypto(crypto.key).encrypt(plain, CREDS["corpId"])
        signer = WeChatSigner()
        signer.add_data(CREDS["token"], ts, nonce, echostr)
        query = {"msg_signature": signer.signature, "timestamp": ts, "nonce": nonce, "echostr": echostr}
        return WebhookRequest(method="GET", query=query), plain.encode()

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, body) == (200, b"")

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.calls(SEND_PATH):
            body = r.json()
            to = {"touser": body["touser"], "agentid": str(body["agentid"]), "msgtype": body["msgtype"]}
            found.append(Sent(body[body["msgtype"]]["content"], to))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"touser": USER, "agentid": CREDS["agentId"], "msgtype": "markdown"}  # model answers


@contextlib.contextmanager
def driver() -> Iterator[WeComDriver]:
    with FakeWeComApi(CREDS["corpId"], CREDS["secret"]) as fake:
        yield WeComDriver(fake)
