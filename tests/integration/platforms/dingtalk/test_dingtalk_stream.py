"""DingTalk Stream: our connection against a fake gateway (HTTP + `websockets`), and the official
`dingtalk_stream` client against the same fake to show the fake speaks the real protocol."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import httpx
import pytest

from fakes.dingtalk_api import FakeDingTalk, bot_frame, ping_frame, system_frame
from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.dingtalk import stream

CREDS = {"appKey": "ding-key", "appSecret": "ding-secret"}


def robot_data(msg_id: str, text: str) -> dict[str, Any]:
    return {
        "conversationId": "cid-1",
        "msgId": msg_id,
        "senderStaffId": "staff-1",
        "senderNick": "张三",
        "conversationType": "1",
        "sessionWebhook": "http://127.0.0.1:1/session",
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 60_000,
        "text": {"content": text},
        "msgtype": "text",
        "robotCode": "rc",
    }


class Harness:
    """Runs `run_connection` as a task with a recording, non-waiting sleep."""

    def __init__(self, fake: FakeDingTalk, http: httpx.AsyncClient, creds: dict[str, str] = CREDS) -> None:
        self.got: list[InboundMessage] = []
        self.sleeps: list[float] = []
        ctx = make_context(
            "dingtalk", creds, http=http, settings={"apiBase": fake.url, "mode": "stream"}, clock=FakeClock()
        )
        conn = dingtalk.create(ctx)
        assert isinstance(conn, stream.DingTalkStreamConnection)
        self.conn = stream.DingTalkStreamConnection(
            ctx,
            ctx.settings,
            conn._api,
            app_key=creds["appKey"],
            app_secret=creds["appSecret"],
            sleep=self._sleep,
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0.01)

    async def sink(self, message: InboundMessage) -> None:
        self.got.append(message)

    async def run_until(self, done: Any, limit: float = 10) -> None:
        task = asyncio.create_task(self.conn.run_connection(self.sink))
        try:
            async with asyncio.timeout(limit):
                while not done():  # noqa: ASYNC110 -- the fake's state changes in its own thread
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_acks_pings_delivers_and_reconnects(http: httpx.AsyncClient) -> None:
    scripts = [
        [ping_frame("p-1", "abc"), bot_frame("m-1", robot_data("msg-1", "在吗"))],
        [bot_frame("m-2", robot_data("msg-2", "second connection"))],
    ]
    with FakeDingTalk(scripts=scripts) as fake:
        h = Harness(fake, http)
        await h.run_until(lambda: len(h.got) == 2 and len(fake.replies) == 3)
        opens = fake.calls("/v1.0/gateway/connections/open")
        assert len(opens) == 2 and fake.used_tickets == ["ticket-1", "ticket-2"]
        assert opens[0].json()["subscriptions"] == [
            {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}
        ]
        assert opens[0].json()["clientId"] == "ding-key"
        ping_ack, bot_ack, bot_ack_2 = fake.replies
        assert ping_ack == {
            "code": 200,
            "headers": {"messageId": "p-1", "contentType": "application/json"},
            "message": "OK",
            "data": json.dumps({"opaque": "abc"}),
        }
        assert (bot_ack["code"], bot_ack["headers"]["messageId"], json.loads(bot_ack["data"])) == (
            200,
            "m-1",
            {"response": None},
        )
        assert bot_ack_2["headers"]["messageId"] == "m-2"
        assert [(m.event_id, m.text, m.user_id) for m in h.got] == [
            ("msg-1", "在吗", "staff-1"),
            ("msg-2", "second connection", "staff-1"),
        ]
        assert h.got[0].reply_context["session_webhook"] == "http://127.0.0.1:1/session"
        assert len(h.sleeps) >= 1  # the closed socket led to a backed-off reconnect


async def test_picture_over_the_stream_is_an_attachment_fetched_by_the_connection(
    http: httpx.AsyncClient,
) -> None:
    picture = {**robot_data("msg-p", ""), "msgtype": "picture", "robotCode": "ding-key"}
    del picture["text"]
    picture["content"] = {"downloadCode": "code-p", "pictureDownloadCode": "pic-p"}
    with FakeDingTalk(scripts=[[bot_frame("m-p", picture)]]) as fake:
        fake.files["code-p"] = b"\xff\xd8\xffjpeg"
        h = Harness(fake, http)
        await h.run_until(lambda: len(h.got) == 1 and len(fake.replies) == 1)
        (msg,) = h.got
        assert (msg.text, [a.ref for a in msg.attachments]) == (
            "",
            [{"downloadCode": "code-p", "robotCode": "ding-key"}],
        )
        assert await h.conn.fetch_media(msg, msg.attachments[0], 1000) == b"\xff\xd8\xffjpeg"


async def test_disconnect_frame_triggers_a_new_connection(http: httpx.AsyncClient) -> None:
    scripts = [[system_frame("disconnect", "d-1")], [bot_frame("m-9", robot_data("msg-9", "after"))]]
    with FakeDingTalk(scripts=scripts) as fake:
        h = Harness(fake, http)
        await h.run_until(lambda: len(h.got) == 1)
        assert fake.connections == 2 and h.got[0].event_id == "msg-9"


async def test_event_frames_are_acked_with_success(http: httpx.AsyncClient) -> None:
    event = {
        "specVersion": "1.0",
        "type": "EVENT",
        "headers": {"topic": "*", "messageId": "e-1", "eventId": "ev-1", "contentType": "application/json"},
        "data": "{}",
    }
    with FakeDingTalk(scripts=[[event]]) as fake:
        h = Harness(fake, http)
        await h.run_until(lambda: len(fake.replies) == 1)
        assert json.loads(fake.replies[0]["data"]) == {"status": "SUCCESS", "message": "success"}
        assert h.got == []


async def test_bad_credentials_back_off_exponentially(http: httpx.AsyncClient) -> None:
    with FakeDingTalk() as fake:
        h = Harness(fake, http, {"appKey": "ding-key", "appSecret": "wrong"})
        await h.run_until(lambda: len(h.sleeps) >= 4)
        assert fake.connections == 0
        for attempt, delay in enumerate(h.sleeps[:4]):
            assert 2**attempt / 2 <= delay <= 2**attempt


async def test_unreachable_gateway_retries_instead_of_crashing(http: httpx.AsyncClient) -> None:
    with FakeDingTalk() as gone:
        url = gone.url
    ctx = make_context("dingtalk", CREDS, http=http, settings={"apiBase": url, "mode": "stream"})
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0.01)

    conn = stream.DingTalkStreamConnection(
        ctx,
        ctx.settings,
        dingtalk.create(ctx)._api,
        app_key="ding-key",
        app_secret="ding-secret",
        sleep=sleep,
    )

    async def ignore(message: InboundMessage) -> None:
        raise AssertionError("no message expected")

    task = asyncio.create_task(conn.run_connection(ignore))
    async with asyncio.timeout(10):
        while len(sleeps) < 2:  # noqa: ASYNC110 -- polled, not signalled
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_backoff_is_capped() -> None:
    assert all(30 <= stream.backoff(a) <= 60 for a in (6, 10, 50))


OFFICIAL_CLIENT = textwrap.dedent(
    """
    import asyncio, dingtalk_stream
    class Bot(dingtalk_stream.ChatbotHandler):
        async def process(self, callback):
            msg = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
            print("got", msg.message_id, msg.text.content, flush=True)
            return dingtalk_stream.AckMessage.STATUS_OK, "OK"
    client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential("ding-key", "ding-secret"))
    client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, Bot())
    asyncio.run(asyncio.wait_for(client.start(), 20))
    """
)


def test_official_sdk_client_talks_to_the_same_fake() -> None:
    with FakeDingTalk(
        scripts=[[bot_frame("m-sdk", robot_data("msg-sdk", "hello")), ping_frame("p-sdk", "o-1")]]
    ) as fake:
        # The SDK reads its endpoint from the environment at import time: run it in its own process.
        env = {**os.environ, "DINGTALK_OPENAPI_ENDPOINT": fake.url}
        proc = subprocess.Popen(
            [sys.executable, "-c", OFFICIAL_CLIENT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            replies = fake.wait_for_replies(2, timeout=20)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        assert "got msg-sdk hello" in out
        by_id = {r["headers"]["messageId"]: r for r in replies}
        assert by_id["m-sdk"]["code"] == 200 and json.loads(by_id["m-sdk"]["data"]) == {"response": "OK"}
        assert json.loads(by_id["p-sdk"]["data"]) == {"opaque": "o-1"}
        assert fake.calls("/v1.0/gateway/connections/open")[0].json()["clientSecret"] == "ding-secret"
