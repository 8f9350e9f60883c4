"""Telegram (webhook mode): updates serialised by python-telegram-bot, the reference SDK, sent with the
secret-token header Telegram adds; `sendMessage` calls recorded by `FakeTelegram`."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from telegram import Update

from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from integration.webhooks.drivers.base import Sent, question
from integration.webhooks.harness import Binding
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.telegram.test_telegram_webhook import DATA

TOKEN = "123456789:AAE-webhook-e2e-token"
SECRET = "webhook-Secret_42"
CHAT = 111222333


def update(n: int) -> dict[str, Any]:
    """A private text message as Telegram delivers it: unique update_id and message_id per `n`."""
    raw = copy.deepcopy(json.loads((DATA / "private_text.json").read_text()))
    raw["update_id"] = 700_000_000 + n
    raw["message"]["message_id"] = 40 + n
    raw["message"]["text"] = question(n)
    return dict(raw)


def sdk_body(raw: dict[str, Any]) -> bytes:
    return Update.de_json(raw, None).to_json().encode()


class TelegramDriver:
    platform = "telegram"
    ack_status = 200
    forged_status = 403

    def __init__(self, fake: FakeTelegram, base: str, **settings: Any) -> None:
        self.fake = fake
        self.binding = Binding(
            "helpdesk-telegram",
            "telegram",
            {"botToken": TOKEN, "secretToken": SECRET},
            {"apiBase": base, **settings},
        )

    def _request(self, body: bytes, secret: str) -> WebhookRequest:
        headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
        return WebhookRequest(method="POST", headers=headers, body=body)

    def valid(self, n: int) -> WebhookRequest:
        return self._request(sdk_body(update(n)), SECRET)

    def forged(self, n: int) -> WebhookRequest:
        return self._request(sdk_body(update(n)), "webhook-Secret_43")

    def junk(self) -> WebhookRequest:
        return self._request(b'{"update_id": "x", "message": {}}', SECRET)

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {"ok": True})

    def sent(self) -> list[Sent]:
        return [
            Sent(
                body["text"],
                {"chat_id": body["chat_id"], "reply_to_message_id": body.get("reply_to_message_id")},
            )
            for body in self.fake.sent()
        ]

    def address(self, n: int) -> dict[str, Any]:
        return {"chat_id": CHAT, "reply_to_message_id": 40 + n}


@contextlib.contextmanager
def driver(**settings: Any) -> Iterator[TelegramDriver]:
    fake = FakeTelegram(TOKEN)
    with serve(fake.api.app) as base:
        yield TelegramDriver(fake, base, **settings)
