"""OneBot v11 reverse WebSocket end to end: a `websockets` client acting as NapCat connects to a
Starlette app (uvicorn on 127.0.0.1) that mounts the adapter like the gateway will."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from adapter_contexts import make_adapter_context
from fakes.http_api import free_socket
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.onebot import adapter

TOKEN = "kSLuTF2GC2Q4q4ugm3"
SELF_ID = "10001000"
DATA = Path(__file__).parents[3] / "data" / "onebot"


class Harness:
    """The adapter mounted at /webhook/onebot/{binding}, served in this test's event loop."""

    def __init__(self, adapter_: adapter.OneBotAdapter, base: str, metrics: Metrics) -> None:
        self.adapter = adapter_
        self.metrics = metrics
        self.url = base.replace("http://", "ws://") + "/webhook/onebot/helpdesk-onebot"
        self.received: list[InboundMessage] = []
        self.arrived = asyncio.Event()

    async def sink(self, message: InboundMessage) -> None:
        self.received.append(message)
        self.arrived.set()

    async def next_event(self) -> InboundMessage:
        async with asyncio.timeout(10):
            while not self.received:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received.pop(0)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with httpx.AsyncClient() as http:
        metrics = Metrics()
        ctx = make_adapter_context(
            "onebot",
            credentials={"accessToken": TOKEN},
            settings={"actionTimeoutSeconds": 1.0},
            http=http,
            metrics=metrics,
            clock=lambda: 3.0,
        )
        the_adapter = adapter.create(ctx)
        holder: list[Harness] = []

        async def endpoint(websocket: WebSocket) -> None:
            await the_adapter.handle_websocket(websocket, holder[0].sink)

        app = Starlette(routes=[WebSocketRoute("/webhook/onebot/{binding}", endpoint)])
        sock = free_socket()
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
                await asyncio.sleep(0.01)
        holder.append(Harness(the_adapter, f"http://127.0.0.1:{sock.getsockname()[1]}", metrics))
        try:
            yield holder[0]
        finally:
            server.should_exit = True
            await task
            sock.close()


def napcat_headers(token: str | None = TOKEN, role: str = "Universal") -> dict[str, str]:
    headers = {"X-Self-ID": SELF_ID, "X-Client-Role": role, "User-Agent": "OneBot/11"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def event(name: str) -> str:
    return (DATA / name).read_text()


def reply_to(inbound: InboundMessage, text: str) -> OutboundMessage:
    return OutboundMessage(inbound=inbound, text=text)


async def answer_next_action(ws: Any, **answer: Any) -> dict[str, Any]:
    call = json.loads(await asyncio.wait_for(ws.recv(), 10))
    await ws.send(
        json.dumps(
            {"status": "ok", "retcode": 0, "data": {"message_id": 4242}, **answer, "echo": call["echo"]}
        )
    )
    return call


async def test_napcat_session_event_in_reply_out(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("lifecycle_connect.json"))
        await ws.send(event("heartbeat.json"))
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        assert (inbound.bot, inbound.platform, inbound.binding) == ("helpdesk", "onebot", "helpdesk-onebot")
        assert (inbound.event_id, inbound.text) == ("10001000:1847362", "明天上海会下雨吗？")
        sending = asyncio.create_task(harness.adapter.send(reply_to(inbound, "明天有小雨。")))
        call = await answer_next_action(ws)
        await sending
    assert call["action"] == "send_msg" and isinstance(call["echo"], str)
    assert call["params"] == {
        "message_type": "private",
        "user_id": 12345678,
        "message": [{"type": "text", "data": {"text": "明天有小雨。"}}],
    }


async def test_group_reply_quotes_the_message(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("group_cq_at_self.json"))
        inbound = await harness.next_event()
        assert inbound.mentioned and inbound.text == "帮我查一下 [工单] 7&8 的状态"
        sending = asyncio.create_task(harness.adapter.send(reply_to(inbound, "工单 7 已关闭")))
        call = await answer_next_action(ws)
        await sending
    assert call["params"]["group_id"] == 87654321
    assert call["params"]["message"][0] == {"type": "reply", "data": {"id": "-2104918822"}}


async def test_access_token_in_query_is_accepted(harness: Harness) -> None:
    url = f"{harness.url}?access_token={TOKEN}"
    async with websockets.connect(url, additional_headers=napcat_headers(token=None)) as ws:
        await ws.send(event("private_segments.json"))
        assert (await harness.next_event()).user_id == "12345678"


@pytest.mark.parametrize(
    "headers",
    [
        napcat_headers(token="wrong"),
        napcat_headers(token=None),
        napcat_headers(token=""),
        napcat_headers(role="Robot"),
    ],
)
async def test_bad_token_or_role_is_refused_before_accept(harness: Harness, headers: dict[str, str]) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with websockets.connect(harness.url, additional_headers=headers):
            pass
    assert info.value.response.status_code == 403
    assert b'parley_webhook_rejected_total{platform="onebot"' in harness.metrics.render()


async def test_send_without_a_socket_is_retryable(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
    await asyncio.sleep(0.1)  # let the server notice the close
    with pytest.raises(RetryableSendError, match="no OneBot API connection"):
        await harness.adapter.send(reply_to(inbound, "late"))


async def test_event_role_connection_is_not_used_for_actions(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers(role="Event")) as ws:
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        with pytest.raises(RetryableSendError):
            await harness.adapter.send(reply_to(inbound, "x"))


async def test_unanswered_action_times_out_as_retryable(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        with pytest.raises(RetryableSendError, match="no answer to send_msg"):
            await harness.adapter.send(reply_to(inbound, "x"))
        assert json.loads(await ws.recv())["action"] == "send_msg"


async def test_failed_status_is_permanent_and_disconnect_is_retryable(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        sending = asyncio.create_task(harness.adapter.send(reply_to(inbound, "x")))
        await answer_next_action(ws, status="failed", retcode=1400, wording="bad params")
        with pytest.raises(PermanentSendError, match="retcode=1400"):
            await sending
        pending = asyncio.create_task(harness.adapter.send(reply_to(inbound, "y")))
        await asyncio.wait_for(ws.recv(), 10)
    with pytest.raises(RetryableSendError, match="closed"):
        await pending


async def test_junk_frames_do_not_break_the_connection(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        for junk in ("not json", "[1,2]", '{"echo": "unknown"}', '{"post_type": "message"}', b"\xff\xfe"):
            await ws.send(junk)
        await ws.send(event("private_segments.json"))
        assert (await harness.next_event()).event_id == "10001000:1847362"


async def test_http_post_is_told_to_use_websocket(harness: Harness) -> None:
    result = await harness.adapter.handle_webhook(WebhookRequest(method="POST", body=b"{}"))
    assert result.status == 405 and b"WebSocket" in result.body
