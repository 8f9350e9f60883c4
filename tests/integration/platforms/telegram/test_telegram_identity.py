"""Who the bot is: getMe against the fake Bot API, its fallback while Telegram fails, and the pause
before the next lookup; in webhook and in polling mode."""

import asyncio
import json
from pathlib import Path
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import WebhookRequest

DATA = Path(__file__).parents[3] / "data" / "telegram"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def webhook_request(name: str, **message: Any) -> WebhookRequest:
    body = json.loads((DATA / name).read_text())
    body["message"].update(message)
    return WebhookRequest(
        method="POST", headers={"x-telegram-bot-api-secret-token": "s"}, body=json.dumps(body).encode()
    )


# A mention of the bot's current username, which only getMe knows when the binding names an old one
RENAMED = {"text": "@parley_helper_bot hi", "entities": [{"offset": 0, "length": 18, "type": "mention"}]}


async def test_get_me_overrides_a_stale_configured_username(fake, make_adapter) -> None:
    telegram, _ = fake
    adapter = make_adapter(botUsername="old_name_bot")
    (event,) = (await adapter.handle_webhook(webhook_request("group_mention.json", **RENAMED))).events
    assert event.mentioned and event.text == "hi"
    assert [r.path for r in telegram.api.requests] == [telegram.path("getMe")]


async def test_failed_get_me_falls_back_and_retries_only_after_a_pause(fake, make_adapter) -> None:
    telegram, _ = fake
    for _ in range(2):
        telegram.api.script("POST", telegram.path("getMe"), status=502, body={"ok": False, "error_code": 502})
    clock = Clock()
    adapter = make_adapter(clock=clock)  # configured: parley_helper_bot, id 123456789 from the token

    async def mentioned(name: str) -> bool:
        (event,) = (await adapter.handle_webhook(webhook_request(name))).events
        return event.mentioned

    assert await mentioned("group_mention.json")  # intake goes on with the fallback identity
    assert await mentioned("group_reply_to_bot.json")  # the token's bot id still matches replies
    assert len(telegram.calls("getMe")) == 1  # no lookup per message while Telegram fails
    clock.now += 31
    assert await mentioned("group_mention.json")
    assert len(telegram.calls("getMe")) == 2  # the second failure doubles the pause
    clock.now += 31
    await mentioned("group_mention.json")
    assert len(telegram.calls("getMe")) == 2
    clock.now += 31
    await mentioned("group_mention.json")
    await mentioned("group_mention.json")
    assert len(telegram.calls("getMe")) == 3  # answered at last: cached from now on


async def test_unusable_get_me_answer_keeps_the_fallback(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script("POST", telegram.path("getMe"), status=200, body={"ok": True, "result": {"id": "x"}})
    adapter = make_adapter()
    (event,) = (await adapter.handle_webhook(webhook_request("group_mention.json"))).events
    assert event.mentioned and event.text == "how do I reset my password?"


async def test_concurrent_first_messages_share_one_lookup(fake, make_adapter) -> None:
    telegram, _ = fake
    adapter = make_adapter(botUsername=None)
    results = await asyncio.gather(
        *(adapter.handle_webhook(webhook_request("group_mention.json")) for _ in range(5))
    )
    assert all(r.events[0].mentioned for r in results)
    assert len(telegram.calls("getMe")) == 1


async def test_polling_learns_the_identity_before_the_first_update(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.pending.append(json.loads((DATA / "group_mention.json").read_text()))
    got: list[InboundMessage] = []

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    task = asyncio.create_task(make_adapter(mode="polling", botUsername=None).run_connection(sink))
    try:
        async with asyncio.timeout(10):
            while not got:  # noqa: ASYNC110 (the fake serves from another thread)
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert got[0].mentioned and got[0].text == "how do I reset my password?"
    paths = [r.path for r in telegram.api.requests]
    assert paths[:3] == [telegram.path("deleteWebhook"), telegram.path("getMe"), telegram.path("getUpdates")]
    assert paths.count(telegram.path("getMe")) == 1
