"""OneBot v11 through `parley serve`'s real app under uvicorn: a `websockets` client acting as NapCat
connects to `WS /webhook/onebot/{binding}`, pushes message events, and answers (and records) the
`send_msg` actions the engine's replies become."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from integration.platforms.onebot.test_onebot_reverse_ws import DATA, TOKEN, napcat_headers
from integration.webhooks.drivers.base import answer, question
from integration.webhooks.harness import Binding, Parley, eventually, served_parley

BINDING = Binding("helpdesk-onebot", "onebot", {"accessToken": TOKEN}, {"actionTimeoutSeconds": 5})
USER = 12345678


def private_event(n: int) -> str:
    raw = copy.deepcopy(json.loads((DATA / "private_segments.json").read_text()))
    raw["message_id"] = 1_847_000 + n
    raw["message"] = [{"type": "text", "data": {"text": question(n)}}]
    raw["raw_message"] = question(n)
    return json.dumps(raw, ensure_ascii=False)


class NapCat:
    """The OneBot implementation's side of the socket: records every action and answers it "ok"."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.actions: list[dict[str, Any]] = []

    async def serve(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if "action" in frame:
                self.actions.append(frame)
                reply = {"status": "ok", "retcode": 0, "data": {"message_id": 4000 + len(self.actions)}}
                await self.ws.send(json.dumps({**reply, "echo": frame["echo"]}))

    def replies(self) -> list[tuple[str, int, str]]:
        return [
            (a["action"], a["params"]["user_id"], a["params"]["message"][0]["data"]["text"])
            for a in self.actions
        ]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Parley, str]]:
    async with served_parley(tmp_path, [BINDING]) as (app, base):
        yield app, base.replace("http://", "ws://") + f"/webhook/onebot/{BINDING.name}"


@contextlib.asynccontextmanager
async def napcat(url: str) -> AsyncIterator[NapCat]:
    async with websockets.connect(url, additional_headers=napcat_headers()) as ws:
        side = NapCat(ws)
        task = asyncio.create_task(side.serve())
        try:
            yield side
        finally:
            await ws.close()
            await asyncio.gather(task, return_exceptions=True)


async def replies(side: NapCat, count: int) -> list[tuple[str, int, str]]:
    return await eventually(lambda: side.replies() if len(side.replies()) >= count else None)


async def test_event_is_answered_once_over_the_socket_and_redelivery_is_dropped(
    served: tuple[Parley, str],
) -> None:
    app, url = served
    async with napcat(url) as side:
        await side.ws.send((DATA / "lifecycle_connect.json").read_text())
        await side.ws.send(private_event(1))
        assert await replies(side, 1) == [("send_msg", USER, answer(1))]
        assert side.actions[0]["params"]["message_type"] == "private"
        await side.ws.send(private_event(1))  # the same message id again, as after a NapCat reconnect
        await side.ws.send(private_event(2))
        assert await replies(side, 2) == [("send_msg", USER, answer(1)), ("send_msg", USER, answer(2))]
    assert await app.counter("parley_duplicates_total", platform="onebot") == 1
    assert await app.counter("parley_messages_total", platform="onebot", outcome="ok") == 2


@pytest.mark.parametrize("token", ["wrong-token", None])
async def test_wrong_or_missing_token_is_refused_with_403_and_counted(
    served: tuple[Parley, str], token: str | None
) -> None:
    app, url = served
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers=napcat_headers(token=token)):
            pass
    assert refused.value.response.status_code == 403
    assert await app.counter("parley_webhook_rejected_total", platform="onebot") == 1
    assert await app.counter("parley_messages_total") == 0


async def test_junk_frames_are_ignored_and_http_post_is_405(served: tuple[Parley, str]) -> None:
    app, url = served
    async with napcat(url) as side:
        for junk in ("not json", "[1, 2]", '{"post_type": "message"}', '{"echo": "nobody-waits"}'):
            await side.ws.send(junk)
        await side.ws.send(private_event(3))
        assert await replies(side, 1) == [("send_msg", USER, answer(3))]
    response = await app.client.post(f"/webhook/onebot/{BINDING.name}", content=b"{}")
    assert response.status_code == 405 and b"WebSocket" in response.content
    unknown = await app.client.post("/webhook/onebot/no-such-binding", content=b"{}")
    assert unknown.status_code == 404
