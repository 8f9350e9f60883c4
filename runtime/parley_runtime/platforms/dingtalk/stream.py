"""DingTalk Stream mode: one WebSocket per binding, held by the gateway replica that owns the Lease.

Protocol (open-dingtalk developerpedia, stream/protocol.md): POST /v1.0/gateway/connections/open →
{endpoint, ticket}; connect `endpoint?ticket=…`; ACK every frame by its messageId; echo the ping's
data; on `disconnect` (or any failure) open a new connection, backing off exponentially.
"""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import websockets
from websockets.asyncio.client import ClientConnection, connect

from parley_runtime.config.platforms import DingTalkSettings
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import EventSink, WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.dingtalk import client, convert, reply

log = logging.getLogger(__name__)

BOT_TOPIC = "/v1.0/im/bot/messages/get"
USER_AGENT = "parley-dingtalk-stream/0.1"


class StreamOpenError(Exception):
    """The gateway did not hand out an endpoint and ticket."""


def backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter in the upper half: 1, 2, 4 … 60 s."""
    delay = min(cap, base * 2.0**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


def ack(message_id: str, data: Any) -> str:
    headers = {"messageId": message_id, "contentType": "application/json"}
    return json.dumps({"code": 200, "headers": headers, "message": "OK", "data": json.dumps(data)})


class DingTalkStreamConnection:
    """A `LongConnectionAdapter`: inbound over the Stream socket, replies like the HTTP adapter."""

    def __init__(
        self,
        ctx: AdapterContext,
        settings: DingTalkSettings,
        api: client.DingTalkClient,
        *,
        app_key: str,
        app_secret: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._settings = settings
        self._api = api
        self._app_key = app_key
        self._secret = app_secret
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"DingTalkStreamConnection(binding={self._ctx.binding!r})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        return webhook.error(404, "this binding receives messages over DingTalk Stream, not HTTP")

    async def send(self, message: OutboundMessage) -> None:
        await reply.deliver(self._api, message, robot_code=self._settings.robot_code, adapter=self._ctx)

    async def announce(self, chat_id: str, text: str) -> None:
        await reply.announce(self._api, chat_id, text, robot_code=self._settings.robot_code)

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        robot_code = self._api.robot_code_for(self._settings.robot_code)
        return await self._api.fetch_media(attachment, max_bytes, robot_code=robot_code)

    async def run_connection(self, sink: EventSink) -> None:
        """Hold the connection until cancelled; every failure leads to a backed-off reconnect."""
        attempt = 0
        while True:
            try:
                endpoint, ticket = await self._open()
                joiner = "&" if "?" in endpoint else "?"
                url = f"{endpoint}{joiner}ticket={quote(ticket, safe='')}"
                async with connect(url, open_timeout=10) as ws:
                    attempt = 0
                    log.info("dingtalk stream connected", extra={"binding": self._ctx.binding})
                    await self._serve(ws, sink)
            except asyncio.CancelledError:
                raise
            except (
                OSError,
                httpx.HTTPError,
                websockets.WebSocketException,
                StreamOpenError,
                ValueError,
            ) as exc:
                log.warning("dingtalk stream connection failed: %s", type(exc).__name__)
            await self._sleep(backoff(attempt))
            attempt = min(attempt + 1, 10)

    async def _open(self) -> tuple[str, str]:
        payload = {
            "clientId": self._app_key,
            "clientSecret": self._secret,
            "subscriptions": [{"type": "CALLBACK", "topic": BOT_TOPIC}],
            "ua": USER_AGENT,
        }
        response = await self._ctx.http.post(f"{self._api.base}/v1.0/gateway/connections/open", json=payload)
        if not response.is_success:
            raise StreamOpenError(f"HTTP {response.status_code}")
        body = response.json()
        endpoint, ticket = (body.get(k) if isinstance(body, dict) else None for k in ("endpoint", "ticket"))
        if not (
            isinstance(endpoint, str) and isinstance(ticket, str) and endpoint.startswith(("ws://", "wss://"))
        ):
            raise StreamOpenError("answer has no endpoint/ticket")
        return endpoint, ticket

    async def _serve(self, ws: ClientConnection, sink: EventSink) -> None:
        async for raw in ws:
            try:
                frame = json.loads(raw)
                headers = frame["headers"]
                message_id, topic, kind = headers["messageId"], headers.get("topic"), frame.get("type")
            except (ValueError, KeyError, TypeError):
                log.warning("dingtalk stream: malformed frame ignored")
                continue
            if kind == "SYSTEM":
                if topic == "disconnect":
                    return  # the server closes the socket in 10 s; reconnect now
                if topic == "ping":
                    await ws.send(ack(message_id, _load(frame.get("data"))))
                continue
            if kind == "CALLBACK":
                if topic == BOT_TOPIC:
                    await self._deliver(_load(frame.get("data")), sink)
                await ws.send(ack(message_id, {"response": None}))
            elif kind == "EVENT":
                await ws.send(ack(message_id, {"status": "SUCCESS", "message": "success"}))

    async def _deliver(self, data: Any, sink: EventSink) -> None:
        if not isinstance(data, dict):
            return
        message = convert.to_inbound(data, self._ctx.origin())
        if message is None:
            return
        try:
            await sink(message)
        except Exception as exc:  # bot messages are never re-pushed: log, ACK and keep the socket
            log.error("dingtalk stream: sink failed for %s: %s", message.event_id, type(exc).__name__)


def _load(data: Any) -> Any:
    if not isinstance(data, str):
        return {}
    try:
        return json.loads(data)
    except ValueError:
        return {}
