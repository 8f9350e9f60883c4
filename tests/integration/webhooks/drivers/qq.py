"""QQ official bot (webhook): payloads signed with ed25519 like QQ signs them (PyNaCl, key seeded from the
app secret; the adapter unit tests' `signed`), op 13 answered with the official vector, passive
replies recorded by `FakeQQ` (token host and API host are the same fake)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from nacl.signing import SigningKey

from fakes.http_api import serve
from fakes.qq_api import FakeQQ
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question, timestamp_now
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.qq.test_qq_webhook import DATA, SECRET, signed

APP_ID = "11111111"
OPENID = "E4F4AEA33253A2797FB897C50B81D7ED"
VALIDATION_ANSWER = {
    "plain_token": "Arq0D5A61EgUu4OxUvOp",
    "signature": "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
    "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
}


def dispatch(n: int) -> dict[str, Any]:
    """A C2C message dispatch (op 0) with its own event id and message id."""
    raw = copy.deepcopy(json.loads((DATA / "c2c_message.json").read_text()))
    raw["id"] = f"C2C_MESSAGE_CREATE:event{n:04d}"
    raw["d"]["id"] = f"ROBOT1.0_msg{n:04d}"
    raw["d"]["content"] = f" {question(n)}"
    return dict(raw)


class QQDriver:
    platform = "qq"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeQQ, base: str) -> None:
        self.fake = fake
        self.path = fake.route("user", OPENID)
        self.binding = Binding(
            "helpdesk-qq", "qq", {"appId": APP_ID, "appSecret": SECRET}, {"apiBase": base, "tokenBase": base}
        )

    def valid(self, n: int) -> WebhookRequest:
        return signed(dumps(dispatch(n)), timestamp=timestamp_now())

    def stale(self, n: int) -> WebhookRequest:
        return signed(dumps(dispatch(n)), timestamp=timestamp_now(ago=STALE_SECONDS))

    def forged(self, n: int) -> WebhookRequest:
        return signed(dumps(dispatch(n)), key=SigningKey.generate(), timestamp=timestamp_now())

    def junk(self) -> WebhookRequest:
        return signed(b'{"op": "zero"}', timestamp=timestamp_now())

    def handshake(self) -> tuple[WebhookRequest, dict[str, str]]:
        """QQ's published op 13 example and the answer QQ checks."""
        return signed((DATA / "validation.json").read_bytes(), timestamp=timestamp_now()), VALIDATION_ANSWER

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {"op": 12})

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.api.received(self.path):
            body = r.json()
            to = {"openid": r.path.split("/")[3], "msg_id": body["msg_id"], "msg_type": body["msg_type"]}
            found.append(Sent(body["content"], to))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"openid": OPENID, "msg_id": f"ROBOT1.0_msg{n:04d}", "msg_type": 0}


@contextlib.contextmanager
def driver() -> Iterator[QQDriver]:
    fake = FakeQQ(APP_ID, SECRET)
    with serve(fake.api.app) as base:
        yield QQDriver(fake, base)
