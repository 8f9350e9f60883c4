"""OneBot in the cluster: NapCat holds a reverse WebSocket to gateway B (of two); the engine's reply is
relayed through Redis and goes out as a `send_msg` action over exactly that socket."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from integration.split.conftest import ONEBOT_TOKEN, Cluster
from integration.split.harness import Parley, start_all, stop_all

SELF_ID = 10001


@pytest.fixture(scope="module")
def gateway_b(cluster: Cluster) -> Iterator[Parley]:
    b = cluster.another_gateway("gateway-b")
    start_all([b])
    try:
        yield b
    finally:
        stop_all([b])


def private_message(user_id: int, message_id: int, text: str) -> dict[str, Any]:
    return {
        "time": int(time.time()),
        "self_id": SELF_ID,
        "post_type": "message",
        "message_type": "private",
        "sub_type": "friend",
        "message_id": message_id,
        "user_id": user_id,
        "message": [{"type": "text", "data": {"text": text}}],
        "raw_message": text,
        "font": 0,
        "sender": {"user_id": user_id, "nickname": "Bob"},
    }


async def next_action(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            frame = json.loads(await ws.recv())
            if "action" in frame:
                return frame


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    """Polls without blocking the loop; AssertionError at the deadline (not a timing assertion)."""
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.1)


def sends(url: str, outcome: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(f'parley_outbound_total{{outcome="{outcome}",platform="onebot"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_engine_reply_goes_out_over_the_socket_gateway_b_holds(
    cluster: Cluster, gateway_b: Parley
) -> None:
    uri = f"ws://127.0.0.1:{gateway_b.port}/webhook/onebot/demo-qq"
    headers = {
        "Authorization": f"Bearer {ONEBOT_TOKEN}",
        "X-Self-ID": str(SELF_ID),
        "X-Client-Role": "Universal",
    }
    async with connect(uri, additional_headers=headers) as ws:
        await ws.send(json.dumps(private_message(20002, 501, "hello from qq")))
        action = await next_action(ws)
        assert action["action"] == "send_msg"
        assert action["params"]["message_type"] == "private" and action["params"]["user_id"] == 20002
        assert action["params"]["message"] == [{"type": "text", "data": {"text": "stable engine says hi"}}]
        await ws.send(
            json.dumps({"status": "ok", "retcode": 0, "data": {"message_id": 9}, "echo": action["echo"]})
        )

        # the engine learns that the send succeeded (not a retry, not a dead letter)
        await until(lambda: sends(cluster.engine.url, "sent") >= 1)
        assert sends(cluster.engine.url, "retry") == 0 and sends(cluster.engine.url, "dead_letter") == 0
        # the model saw the QQ user's text: the message went gateway B → Redis → engine
        assert cluster.stable_llm.requests[-1].body["messages"][-1]["content"] == "hello from qq"


async def test_a_failed_action_comes_back_to_the_engine_as_a_send_error(
    cluster: Cluster, gateway_b: Parley
) -> None:
    """NapCat refuses with retcode 1404 (unknown action / bad request): permanent, so dead-lettered."""
    uri = f"ws://127.0.0.1:{gateway_b.port}/webhook/onebot/demo-qq"
    headers = {"Authorization": f"Bearer {ONEBOT_TOKEN}", "X-Self-ID": str(SELF_ID)}
    before = sends(cluster.engine.url, "dead_letter")
    async with connect(uri, additional_headers=headers) as ws:
        await ws.send(json.dumps(private_message(30003, 777, "this one fails")))
        action = await next_action(ws)
        refusal = {"status": "failed", "retcode": 1404, "wording": "not here", "echo": action["echo"]}
        await ws.send(json.dumps(refusal))
        await until(lambda: sends(cluster.engine.url, "dead_letter") > before)
    assert sends(cluster.engine.url, "dead_letter") == before + 1
