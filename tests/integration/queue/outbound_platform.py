"""The fake platform's send API as an adapter would call it, shared by the outbound and dlq tests."""

from collections.abc import Iterator

import httpx
import pytest

from fakes.http_api import RecordingApi, Reply, serve
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SendReply
from parley_runtime.platforms.common.http import post_json

BOT_TOKEN = "123456:SECRET-bot-token"
SEND_PATH = f"/bot{BOT_TOKEN}/sendMessage"


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def platform_send(http: httpx.AsyncClient, base_url: str) -> SendReply:
    """Adapter-like: one POST per reply, statuses mapped to retryable/permanent by post_json."""

    async def send(message: OutboundMessage) -> None:
        payload = {"chat_id": message.inbound.chat_id, "text": message.text}
        await post_json("telegram", http, base_url + SEND_PATH, payload)

    return send


@pytest.fixture
def platform_api() -> Iterator[tuple[RecordingApi, str]]:
    """A fake platform send API on 127.0.0.1: POST /bot<token>/sendMessage answers 200 unless scripted."""
    api = RecordingApi()
    api.default("POST", SEND_PATH, Reply(200, {"ok": True}))
    with serve(api.app) as base_url:
        yield api, base_url
