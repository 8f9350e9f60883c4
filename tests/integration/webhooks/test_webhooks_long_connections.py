"""Connections `parley serve` opens itself (its long-connection tasks, started by the lifespan): DingTalk
Stream mode against the fake Stream gateway, Telegram long polling against the fake Bot API. Inbound
events take the same intake → queue → engine → send path as webhooks, de-duplication included."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fakes.dingtalk_api import SESSION_PATH, FakeDingTalk, bot_frame
from integration.webhooks.drivers import telegram
from integration.webhooks.drivers.base import answer, question
from integration.webhooks.harness import Binding, eventually, running_parley

APP_KEY, APP_SECRET = "ding-key", "ding-secret"


def robot_data(fake: FakeDingTalk, n: int) -> dict[str, Any]:
    """A one-to-one robot message as the Stream gateway pushes it (topic /v1.0/im/bot/messages/get)."""
    return {
        "conversationId": "cidEXAMPLEsingle000000000000000==",
        "msgId": f"msgSTREAM{n:022d}",
        "senderStaffId": "manager1234",
        "senderId": "$:LWCP_v1:$senderEXAMPLE000000000000",
        "senderNick": "张三",
        "conversationType": "1",
        "sessionWebhook": f"{fake.url}{SESSION_PATH}?session=stream{n}",
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
        "text": {"content": question(n)},
        "msgtype": "text",
        "robotCode": "dingEXAMPLErobot0000",
    }


async def test_dingtalk_stream_mode_is_answered_once_per_message(tmp_path: Path) -> None:
    fake = FakeDingTalk(APP_KEY, APP_SECRET)
    # One connection: message 1, the gateway redelivering message 1 (new frame id, same msgId), message 2.
    fake.scripts = [
        [
            bot_frame("frame-1", robot_data(fake, 1)),
            bot_frame("frame-1-again", robot_data(fake, 1)),
            bot_frame("frame-2", robot_data(fake, 2)),
        ]
    ]
    binding = Binding(
        "helpdesk-dingtalk",
        "dingtalk",
        {"appKey": APP_KEY, "appSecret": APP_SECRET},
        {"apiBase": fake.url, "mode": "stream"},
    )
    with fake:
        async with running_parley(tmp_path, [binding]) as app:
            sent = await eventually(lambda: r if len(r := fake.calls(SESSION_PATH)) >= 2 else None)
            acks = await eventually(lambda: r if len(r := fake.replies) >= 3 else None)
            assert await app.counter("parley_duplicates_total", platform="dingtalk") == 1
            assert await app.counter("parley_messages_total", platform="dingtalk", outcome="ok") == 2
    assert [(r.query["session"], r.json()["markdown"]["text"]) for r in sent] == [  # model answers: Markdown
        ("stream1", answer(1)),
        ("stream2", answer(2)),
    ]
    assert [a["headers"]["messageId"] for a in acks] == ["frame-1", "frame-1-again", "frame-2"]
    assert all(a["code"] == 200 for a in acks)


async def test_telegram_polling_mode_is_answered_once_per_update(tmp_path: Path) -> None:
    with telegram.driver(mode="polling", pollTimeoutSeconds=0) as drv:
        first = telegram.update(1)
        drv.fake.pending.extend([first, dict(first), telegram.update(2)])  # update 1 handed out twice
        async with running_parley(tmp_path, [drv.binding]) as app:
            sent = await eventually(lambda: r if len(r := drv.sent()) >= 2 else None)
            assert await app.counter("parley_duplicates_total", platform="telegram") == 1
            polls = drv.fake.polls()
    assert [(s.text, s.to) for s in sent] == [(answer(1), drv.address(1)), (answer(2), drv.address(2))]
    assert drv.fake.api.received(drv.fake.path("deleteWebhook")), "polling must remove the webhook first"
    assert polls and all(p.get("timeout") == 0 for p in polls)
