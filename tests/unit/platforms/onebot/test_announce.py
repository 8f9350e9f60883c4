"""`announce` sends one `send_msg` action over the live reverse WebSocket: a plain id or `group:<id>`
names a group, `private:<id>` a friend. A client acting as NapCat connects to the adapter served by
uvicorn on 127.0.0.1, in this test's event loop (the adapter's futures live there)."""

import asyncio
import json
from collections.abc import AsyncIterator
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
from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.onebot import adapter

TOKEN = "kSLuTF2GC2Q4q4ugm3"
NAPCAT = {"X-Self-ID": "10001000", "X-Client-Role": "Universal", "Authorization": f"Bearer {TOKEN}"}


async def _ignore(_message: InboundMessage) -> None:
    return None


@pytest.fixture
async def served() -> AsyncIterator[tuple[adapter.OneBotAdapter, str]]:
    """The adapter behind `ws://127.0.0.1:<port>/onebot`, as the gateway mounts it."""
    async with httpx.AsyncClient() as http:
        ctx = make_adapter_context(
            "onebot", credentials={"accessToken": TOKEN}, settings={"actionTimeoutSeconds": 2.0}, http=http
        )
        the_adapter = adapter.create(ctx)

        async def endpoint(websocket: WebSocket) -> None:
            await the_adapter.handle_websocket(websocket, _ignore)

        app = Starlette(routes=[WebSocketRoute("/onebot", endpoint)])
        sock = free_socket()
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
                await asyncio.sleep(0.01)
        try:
            yield the_adapter, f"ws://127.0.0.1:{sock.getsockname()[1]}/onebot"
        finally:
            server.should_exit = True
            await task
            sock.close()


async def announce_and_answer(
    the_adapter: adapter.OneBotAdapter, url: str, chat_id: str, **answer: Any
) -> dict[str, Any]:
    """Announce while connected as NapCat; the action received, answered with `answer` (ok by default)."""
    async with websockets.connect(url, additional_headers=NAPCAT) as ws:
        sending = asyncio.create_task(the_adapter.announce(chat_id, "canary promoted: helpdesk r42"))
        call = json.loads(await asyncio.wait_for(ws.recv(), 10))
        reply = {"status": "ok", "retcode": 0, "data": {"message_id": 4242}, **answer, "echo": call["echo"]}
        await ws.send(json.dumps(reply))
        await sending
    return dict(call)


@pytest.mark.parametrize(
    ("chat_id", "target"),
    [
        ("123456789", {"message_type": "group", "group_id": 123456789}),
        ("group:123456789", {"message_type": "group", "group_id": 123456789}),
        ("private:20002000", {"message_type": "private", "user_id": 20002000}),
    ],
)
async def test_announce_sends_send_msg_to_the_chat(
    served: tuple[adapter.OneBotAdapter, str], chat_id: str, target: dict[str, Any]
) -> None:
    call = await announce_and_answer(*served, chat_id)
    assert call["action"] == "send_msg"
    text = {"type": "text", "data": {"text": "canary promoted: helpdesk r42"}}
    assert call["params"] == {**target, "message": [text]}


async def test_a_refused_action_is_a_permanent_error(served: tuple[adapter.OneBotAdapter, str]) -> None:
    with pytest.raises(PermanentSendError, match="retcode=1404"):
        await announce_and_answer(*served, "123456789", status="failed", retcode=1404, data=None)


def unconnected(http: httpx.AsyncClient) -> adapter.OneBotAdapter:
    return adapter.create(make_adapter_context("onebot", credentials={"accessToken": TOKEN}, http=http))


async def test_a_process_without_the_socket_cannot_announce_now(http: httpx.AsyncClient) -> None:
    with pytest.raises(RetryableSendError, match="no OneBot API connection"):
        await unconnected(http).announce("123456789", "canary aborted")


@pytest.mark.parametrize("chat_id", ["discuss:1", "group:", "abc", "private:1/2"])
async def test_a_chat_id_of_another_shape_is_refused(http: httpx.AsyncClient, chat_id: str) -> None:
    with pytest.raises(PermanentSendError, match="chat id is"):
        await unconnected(http).announce(chat_id, "hi")
