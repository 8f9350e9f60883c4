"""Discord interactions endpoint: slash-command interactions signed with an ed25519 key pair (PyNaCl; the
adapter unit tests' `signed`), PING/PONG, and the deferred answer edited through the interaction
webhook that `FakeDiscord` records (one interaction token per message, as Discord issues them)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from nacl.signing import SigningKey

from fakes.discord_api import PREFIX, FakeDiscord
from fakes.http_api import Reply, serve
from integration.webhooks.drivers.base import STALE_SECONDS, Sent, question, timestamp_now
from integration.webhooks.harness import Binding, dumps
from parley_runtime.core.protocols import WebhookRequest
from unit.platforms.discord.test_discord_webhook import DATA, KEY, signed

APP_ID = "1125000000000000001"


def token(n: int) -> str:
    return f"aW50ZXJhY3Rpb246e2e{n:04d}"


def interaction(n: int) -> dict[str, Any]:
    """`/ask prompt:<question>` in a guild, with its own interaction id and token."""
    raw = copy.deepcopy(json.loads((DATA / "ask_guild.json").read_text()))
    raw["id"] = f"13100000000000{n:05d}"
    raw["token"] = token(n)
    raw["data"]["options"][0]["value"] = question(n)
    return dict(raw)


class DiscordDriver:
    platform = "discord"
    ack_status = 200
    forged_status = 401

    def __init__(self, fake: FakeDiscord, base: str) -> None:
        self.fake = fake
        self.binding = Binding(
            "helpdesk-discord",
            "discord",
            {"applicationId": APP_ID, "publicKey": KEY.verify_key.encode().hex(), "botToken": "bot-token"},
            {"apiBase": f"{base}{PREFIX}"},
        )

    def original(self, n: int) -> str:
        return f"{PREFIX}/webhooks/{APP_ID}/{token(n)}/messages/@original"

    def valid(self, n: int) -> WebhookRequest:
        self.fake.api.default("PATCH", self.original(n), Reply(200, {"id": f"99{n}", "content": "edited"}))
        return signed(dumps(interaction(n)), timestamp=timestamp_now())

    def stale(self, n: int) -> WebhookRequest:
        return signed(dumps(interaction(n)), timestamp=timestamp_now(ago=STALE_SECONDS))

    def forged(self, n: int) -> WebhookRequest:
        return signed(dumps(interaction(n)), key=SigningKey.generate(), timestamp=timestamp_now())

    def junk(self) -> WebhookRequest:
        return signed(b'{"type": "two"}', timestamp=timestamp_now())

    def handshake(self) -> tuple[WebhookRequest, dict[str, int]]:
        """Discord's endpoint check: a signed PING must get PONG."""
        return signed((DATA / "ping.json").read_bytes(), timestamp=timestamp_now()), {"type": 1}

    def ack_ok(self, status: int, body: bytes) -> bool:
        return (status, json.loads(body)) == (200, {"type": 5})  # deferred: "thinking…"

    def sent(self) -> list[Sent]:
        found = []
        for r in self.fake.api.requests:
            if r.method == "PATCH" and r.path.endswith("/messages/@original"):
                found.append(Sent(r.json()["content"], {"interaction_token": r.path.split("/")[5]}))
        return found

    def address(self, n: int) -> dict[str, Any]:
        return {"interaction_token": token(n)}


@contextlib.contextmanager
def driver() -> Iterator[DiscordDriver]:
    fake = FakeDiscord(APP_ID, token(0))
    with serve(fake.api.app) as base:
        yield DiscordDriver(fake, base)
