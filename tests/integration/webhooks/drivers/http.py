"""Generic HTTP platform: JSON messages with the caller's bearer token; the reply is POSTed to the
binding's callbackUrl, a `RecordingApi` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from fakes.http_api import RecordingApi, Reply, serve
from integration.webhooks.drivers.base import Sent, question
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest

CALLER_TOKEN = "caller-bearer-token"
HOOK = "/parley/replies"


def message(n: int) -> dict[str, Any]:
    return {
        "message": question(n),
        "user_id": "employee-4711",
        "chat_id": "helpdesk-web",
        "message_id": f"msg-{n}",
    }


def bearer(body: bytes, token: str) -> WebhookRequest:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return WebhookRequest(method="POST", headers=headers, body=body)


class HttpDriver:
    platform = "http"
    ack_status = 202
    forged_status = 401

    def __init__(self, api: RecordingApi, base: str) -> None:
        self.api = api
        self.binding = Binding(
            "helpdesk-http", "http", {"token": CALLER_TOKEN}, {"callbackUrl": f"{base}{HOOK}"}
        )

    def valid(self, n: int) -> WebhookRequest:
        return bearer(dumps(message(n)), CALLER_TOKEN)

    def forged(self, n: int) -> WebhookRequest:
        return bearer(dumps(message(n)), "caller-bearer-tokem")

    def junk(self) -> WebhookRequest:
        return bearer(b'{"message": 42}', CALLER_TOKEN)

    def ack_ok(self, status: int, body: bytes) -> bool:
        answer = json.loads(body)
        return (
            status == 202
            and answer.get("accepted") is True
            and answer.get("message_id", "").startswith("msg-")
        )

    def sent(self) -> list[Sent]:
        found = []
        for r in self.api.received(HOOK):
            body = r.json()
            to = {k: body[k] for k in ("user_id", "chat_id", "message_id", "track")}
            found.append(Sent(body["reply"], to))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {
            "user_id": "employee-4711",
            "chat_id": "helpdesk-web",
            "message_id": f"msg-{n}",
            "track": "stable",
        }


@contextlib.contextmanager
def driver() -> Iterator[HttpDriver]:
    api = RecordingApi()
    api.default("POST", HOOK, Reply(200, {"ok": True}))
    with serve(api.app) as base:
        yield HttpDriver(api, base)
