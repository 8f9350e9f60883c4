"""OneBot v11 reverse WebSocket end to end: a `websockets` client acting as NapCat connects to a
Starlette app (uvicorn on 127.0.0.1) that mounts the adapter like the gateway will. Received media is
served by a small file server standing in for the implementation's HTTP file URLs."""

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from adapter_contexts import make_adapter_context
from fakes.http_api import free_socket, serve
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import SentLedger, WebhookRequest
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


@contextlib.asynccontextmanager
async def served_adapter(ledger: SentLedger | None = None) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient() as http:
        metrics = Metrics()
        ctx = make_adapter_context(
            "onebot",
            credentials={"accessToken": TOKEN},
            settings={"actionTimeoutSeconds": 1.0},
            http=http,
            metrics=metrics,
            clock=lambda: 3.0,
            ledger=ledger,
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


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with served_adapter() as served:
        yield served


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


# --- announce: one `send_msg` with no inbound message ---------------------------------------------
# A plain id or `group:<id>` names a group, `private:<id>` a friend.


async def announce_and_answer(harness: Harness, chat_id: str, **answer: Any) -> dict[str, Any]:
    """Announce while connected as NapCat; the action received, answered with `answer` (ok by default)."""
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        sending = asyncio.create_task(harness.adapter.announce(chat_id, "canary promoted: helpdesk r42"))
        call = await answer_next_action(ws, **answer)
        await sending
    return call


@pytest.mark.parametrize(
    ("chat_id", "target"),
    [
        ("123456789", {"message_type": "group", "group_id": 123456789}),
        ("group:123456789", {"message_type": "group", "group_id": 123456789}),
        ("private:20002000", {"message_type": "private", "user_id": 20002000}),
    ],
)
async def test_announce_sends_send_msg_to_the_chat(
    harness: Harness, chat_id: str, target: dict[str, Any]
) -> None:
    call = await announce_and_answer(harness, chat_id)
    assert call["action"] == "send_msg"
    text = {"type": "text", "data": {"text": "canary promoted: helpdesk r42"}}
    assert call["params"] == {**target, "message": [text]}


async def test_a_refused_action_is_a_permanent_error(harness: Harness) -> None:
    with pytest.raises(PermanentSendError, match="retcode=1404"):
        await announce_and_answer(harness, "123456789", status="failed", retcode=1404, data=None)


async def test_a_process_without_the_socket_cannot_announce_now(harness: Harness) -> None:
    with pytest.raises(RetryableSendError, match="no OneBot API connection"):
        await harness.adapter.announce("123456789", "canary aborted")


@pytest.mark.parametrize("chat_id", ["discuss:1", "group:", "abc", "private:1/2"])
async def test_a_chat_id_of_another_shape_is_refused(harness: Harness, chat_id: str) -> None:
    with pytest.raises(PermanentSendError, match="chat id is"):
        await harness.adapter.announce(chat_id, "hi")


# --- addressed by a reply, media in and out -------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
AMR = b"#!AMR\n" + b"\x3c" * 3000


@pytest.fixture
def files() -> Iterator[str]:
    """The implementation's file URLs: /f/<name> (with Content-Length) and /chunked/<name> (without)."""
    stored = {"pic.jpg": (JPEG, "image/jpeg"), "voice.amr": (AMR, "audio/amr")}

    async def plain(request: Request) -> Response:
        found = stored.get(request.path_params["name"])
        return Response(found[0], media_type=found[1]) if found else Response(b"", 404)

    async def chunked(request: Request) -> Response:
        data, mime = stored[request.path_params["name"]]
        return StreamingResponse(iter([data[i : i + 512] for i in range(0, len(data), 512)]), media_type=mime)

    app = Starlette(routes=[Route("/f/{name}", plain), Route("/chunked/{name}", chunked)])
    with serve(app) as base:
        yield base


def with_message(name: str, segments: list[dict[str, Any]]) -> str:
    frame = json.loads(event(name))
    frame["message"] = segments
    return json.dumps(frame, ensure_ascii=False)


async def test_reply_quoting_the_bots_own_message_is_addressed(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("group_cq_at_self.json"))
        inbound = await harness.next_event()
        sending = asyncio.create_task(harness.adapter.send(reply_to(inbound, "工单 7 已关闭")))
        await answer_next_action(ws, data={"message_id": 4242})  # the id NapCat gave our reply
        await sending
        await ws.send(event("group_reply_to_bot.json"))  # quotes message 4242
        quoting_us = await harness.next_event()
        other = [{"type": "reply", "data": {"id": "777"}}, {"type": "text", "data": {"text": "那明天呢？"}}]
        await ws.send(with_message("group_reply_to_bot.json", other))
        quoting_someone_else = await harness.next_event()
    assert quoting_us.is_group and quoting_us.mentioned and quoting_us.text == "那明天呢？"
    assert quoting_someone_else.is_group and not quoting_someone_else.mentioned


async def test_received_voice_and_picture_are_fetched_from_their_urls(harness: Harness, files: str) -> None:
    segments = [
        {
            "type": "record",
            "data": {"file": "voice.amr", "url": f"{files}/f/voice.amr", "file_size": str(len(AMR))},
        },
        {"type": "image", "data": {"file": "pic.jpg", "url": f"{files}/f/pic.jpg"}},
    ]
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(with_message("private_record.json", segments))
        inbound = await harness.next_event()
    voice, picture = inbound.attachments
    assert (voice.kind, voice.mime_type, voice.size, picture.kind) == (
        "audio",
        "audio/amr",
        len(AMR),
        "image",
    )
    assert await harness.adapter.fetch_media(inbound, voice, 1 << 20) == AMR
    assert await harness.adapter.fetch_media(inbound, picture, 1 << 20) == JPEG


async def test_fetch_limits_and_failures(harness: Harness, files: str) -> None:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="onebot",
        binding="helpdesk-onebot",
        event_id="1:2",
        chat_id="3",
        user_id="3",
        text="",
    )
    fetch = harness.adapter.fetch_media
    with pytest.raises(MediaTooLarge):  # declared in the segment: nothing is downloaded
        await fetch(inbound, Attachment(kind="audio", size=len(AMR), url=f"{files}/f/missing"), 100)
    with pytest.raises(MediaTooLarge):  # Content-Length
        await fetch(inbound, Attachment(kind="image", url=f"{files}/f/pic.jpg"), 100)
    with pytest.raises(MediaTooLarge) as streamed:  # counted while streaming
        await fetch(inbound, Attachment(kind="audio", url=f"{files}/chunked/voice.amr"), 1000)
    assert streamed.value.size is None
    with pytest.raises(MediaUnavailable) as missing:
        await fetch(inbound, Attachment(kind="image", url=f"{files}/f/missing"), 1 << 20)
    assert missing.value.cause == "HTTP 404"
    with pytest.raises(MediaUnavailable):
        await fetch(inbound, Attachment(kind="image", url="file:///etc/passwd"), 1 << 20)


async def test_markdown_goes_out_as_plain_text(harness: Harness) -> None:
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        markdown_reply = OutboundMessage(
            inbound=inbound, text="**小雨**，见 [预报](https://w.example/sh)", format="markdown"
        )
        sending = asyncio.create_task(harness.adapter.send(markdown_reply))
        call = await answer_next_action(ws)
        await sending
    assert call["params"]["message"] == [
        {"type": "text", "data": {"text": "小雨，见 预报 (https://w.example/sh)"}}
    ]


async def test_image_and_voice_go_out_as_base64_segments(harness: Harness) -> None:
    picture = Attachment(kind="image", mime_type="image/jpeg", url=data_url(JPEG, "image/jpeg"))
    voice = Attachment(kind="audio", mime_type="audio/amr", url=data_url(AMR, "audio/amr"))
    report = Attachment(
        kind="file", mime_type="application/pdf", url=data_url(b"%PDF-1.4", "application/pdf")
    )
    async with websockets.connect(harness.url, additional_headers=napcat_headers()) as ws:
        await ws.send(event("group_cq_at_self.json"))
        inbound = await harness.next_event()
        outbound = OutboundMessage(inbound=inbound, text="", attachments=(picture, voice, report))
        sending = asyncio.create_task(harness.adapter.send(outbound))
        calls = [await answer_next_action(ws), await answer_next_action(ws)]
        await sending
    image_segments, voice_segments = (c["params"]["message"] for c in calls)
    assert image_segments == [
        {"type": "reply", "data": {"id": "-2104918822"}},  # the first part quotes the user's message
        {"type": "image", "data": {"file": "base64://" + base64.b64encode(JPEG).decode()}},
    ]
    assert voice_segments == [
        {"type": "record", "data": {"file": "base64://" + base64.b64encode(AMR).decode()}}
    ]
    assert all(c["params"]["group_id"] == 87654321 for c in calls)  # and the file was not sent at all


async def test_redelivery_never_sends_an_attachment_twice() -> None:
    picture = Attachment(kind="image", mime_type="image/jpeg", url=data_url(JPEG, "image/jpeg"))
    async with (
        served_adapter(MemoryLedger()) as harness,
        websockets.connect(harness.url, additional_headers=napcat_headers()) as ws,
    ):
        await ws.send(event("private_segments.json"))
        inbound = await harness.next_event()
        outbound = OutboundMessage(inbound=inbound, text="图：", attachments=(picture, picture))
        first = asyncio.create_task(harness.adapter.send(outbound))
        sent = [await answer_next_action(ws), await answer_next_action(ws)]
        await answer_next_action(ws, status="failed", retcode=100, wording="upload timeout")
        with pytest.raises(RetryableSendError):
            await first
        again = asyncio.create_task(harness.adapter.send(outbound))
        sent.append(await answer_next_action(ws))
        await again
        await harness.adapter.send(outbound)  # everything is in the ledger: no action at all
    kinds = [c["params"]["message"][0]["type"] for c in sent]
    assert kinds == ["text", "image", "image"]
