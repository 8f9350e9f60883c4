"""OneBot v11 adapter: authenticates reverse-WebSocket upgrades, turns message events into events,
and sends replies as `send_msg` actions over the live socket of the same bot account.

The app mounts `WS /webhook/onebot/{binding}` and calls `handle_websocket`; `send` only works in the
process that holds that socket (without one it raises RetryableSendError so the reply is retried).

A group message that quotes one of the bot's own messages counts as addressed to it. The ids of the
messages the bot sent are those `send_msg` answered, remembered here — in this process only, the last
`SENT_MEMORY` of them: after a restart, or for a reply sent by another gateway process, a quote of an
older message is not recognised (an @-mention still is).

Replies are plain text (Markdown rendered readable); images go out as `image` segments and audio as
`record` segments, both inline as `base64://…`, each in a message of its own.
"""

import asyncio
import base64
import hmac
import json
import logging
from collections import OrderedDict
from typing import Any

from starlette.websockets import WebSocket

from parley_runtime.config.platforms import OneBotSettings
from parley_runtime.core.media import decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import EventSink, WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown, media, reply, webhook
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.onebot import connection, convert, text

__all__ = ["POLICY_VIOLATION", "SENT_MEMORY", "OneBotAdapter", "create"]

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008  # close code before accept: the server answers the upgrade with HTTP 403
_USE_WEBSOCKET = "OneBot v11 connects over a reverse WebSocket to this URL (ws:// or wss://)"
SENT_MEMORY = 4096  # message ids of the bot's own messages kept to recognise replies to them
_SEGMENT = {"image": "image", "audio": "record"}  # what each outbound attachment kind is sent as


class OneBotAdapter:
    platform = "onebot"

    def __init__(self, ctx: AdapterContext, settings: OneBotSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._token = ctx.credentials.get("accessToken", "")
        self._connections: list[connection.Connection] = []
        self._sent: OrderedDict[str, None] = OrderedDict()  # convert.message_key of the bot's messages

    def __repr__(self) -> str:
        return f"OneBotAdapter(binding={self._ctx.binding!r}, connections={len(self._connections)})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        return webhook.error(405, _USE_WEBSOCKET, headers={"allow": "GET"})

    def _authorized(self, websocket: WebSocket) -> bool:
        scheme, _, presented = websocket.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            presented = websocket.query_params.get("access_token", "")
        # An empty configured token would let anyone in: such a binding refuses every connection.
        return bool(self._token) and hmac.compare_digest(presented.strip().encode(), self._token.encode())

    async def handle_websocket(self, websocket: WebSocket, sink: EventSink) -> None:
        role = websocket.headers.get("x-client-role", "Universal").lower()
        if not self._authorized(websocket) or role not in connection.ROLES:
            reason = "bad-token" if role in connection.ROLES else "bad-role"
            self._ctx.metrics.webhook_rejected.labels(platform=self.platform, reason=reason).inc()
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        conn = connection.Connection(websocket, role=role, self_id=websocket.headers.get("x-self-id") or None)
        self._connections.append(conn)
        events: asyncio.Queue[InboundMessage | None] = asyncio.Queue()
        consumer = asyncio.create_task(self._deliver(events, sink))
        log.info("onebot connected", extra={"role": role, "self_id": conn.self_id})
        try:
            while True:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                raw = frame.get("text")
                if raw is None and isinstance(frame.get("bytes"), bytes):
                    raw = frame["bytes"].decode("utf-8", errors="replace")
                if raw is not None:
                    self._on_frame(conn, raw, events)
        finally:
            conn.close()
            self._connections.remove(conn)
            events.put_nowait(None)
            await asyncio.shield(consumer)
            log.info("onebot disconnected", extra={"role": role, "self_id": conn.self_id})

    def _on_frame(
        self, conn: connection.Connection, raw: str, events: "asyncio.Queue[InboundMessage | None]"
    ) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("onebot frame is not JSON; ignored")
            return
        if not isinstance(frame, dict):
            return
        if "post_type" not in frame:
            if "echo" in frame:
                conn.resolve(frame)
            return
        if conn.self_id is None and frame.get("self_id") is not None:
            conn.self_id = str(frame["self_id"])
        post_type = frame["post_type"]
        if post_type == "meta_event":
            if frame.get("meta_event_type") == "heartbeat":
                conn.last_heartbeat = self._ctx.clock()
            return
        if post_type != "message" or conn.role == "api":
            return
        try:
            message = convert.event_to_inbound(frame, self._ctx.origin(), self._sent)
        except convert.BadEvent as exc:
            log.warning("onebot message event ignored", extra={"error": str(exc)})
            return
        if message is not None:
            events.put_nowait(message)

    async def _deliver(self, events: "asyncio.Queue[InboundMessage | None]", sink: EventSink) -> None:
        """Hands events to the sink in order, off the reader, so a slow sink never blocks action answers."""
        while (message := await events.get()) is not None:
            try:
                await sink(message)
            except Exception:
                log.exception("onebot event could not be handed on", extra={"event_id": message.event_id})

    def _connection_for(self, self_id: str | None) -> connection.Connection:
        """The newest API connection of bot `self_id` (of any bot for None); RetryableSendError when
        this process holds none, so another attempt may reach the process that does."""
        candidates = [
            c for c in self._connections if c.can_call and (self_id is None or c.self_id in (self_id, None))
        ]
        if not candidates:
            raise RetryableSendError(
                self.platform, f"no OneBot API connection for bot {self_id or 'any'} in this process"
            )
        return candidates[-1]

    def _remember(self, self_id: str, answer: Any) -> None:
        """Keep the id `send_msg` answered, so a reply quoting that message is known to address us."""
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        if isinstance(message_id, (int, str)) and not isinstance(message_id, bool):
            self._sent[convert.message_key(self_id, str(message_id))] = None
            while len(self._sent) > SENT_MEMORY:
                self._sent.popitem(last=False)

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """The implementation serves received media at the segment's http(s) URL: a plain GET."""
        return await media.download_from_url(self._ctx.http, attachment, max_bytes=max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        context: dict[str, Any] = message.inbound.reply_context
        self_id, kind = str(context.get("self_id", "")), context.get("message_type")
        target_key = "group_id" if kind == "group" else "user_id"
        target = context.get(target_key)
        if kind not in ("private", "group") or not isinstance(target, str) or not target.isdigit():
            raise PermanentSendError(self.platform, "reply context has no OneBot target")
        conn = self._connection_for(self_id)
        body = markdown.to_plain(message.text) if message.format == "markdown" else message.text
        chunks = text.split_text(body)
        parts = reply.parts(self.platform, chunks, message)
        quote = kind == "group" and self._settings.quote_reply and bool(context.get("message_id"))
        async for index, part in self._ctx.unsent(message, parts):
            segments: list[dict[str, Any]]
            if index < len(chunks):
                segments = [_text_segment(part)]
            else:
                attachment = message.attachments[index - len(chunks)]
                segment = _media_segment(attachment)
                if segment is None:
                    log.warning("onebot reply attachment not sent", extra={"attachment": repr(attachment)})
                    continue
                segments = [segment]
            if index == 0 and quote and segments[0]["type"] != "record":  # a voice note stands alone
                segments.insert(0, {"type": "reply", "data": {"id": str(context["message_id"])}})
            params = {"message_type": kind, target_key: int(target), "message": segments}
            await self._send_msg(conn, self_id, params)

    async def announce(self, chat_id: str, text: str) -> None:
        """`send_msg` over this process's newest API connection: `chat_id` is a group number, or
        `group:<number>` / `private:<QQ number>` (the reply context's `message_type`), so a private
        chat is reachable too. Only the gateway process holding the socket can announce."""
        kind, target_key, target = _announce_target(chat_id)
        conn = self._connection_for(None)
        params = {"message_type": kind, target_key: target, "message": [_text_segment(text)]}
        await self._send_msg(conn, conn.self_id or "", params)

    async def _send_msg(self, conn: connection.Connection, self_id: str, params: dict[str, Any]) -> None:
        answer = await conn.call("send_msg", params, timeout_seconds=self._settings.action_timeout_seconds)
        self._remember(self_id, answer)


def _announce_target(chat_id: str) -> tuple[str, str, int]:
    """(message_type, its id parameter, the number) named by an announcement's `chat_id`."""
    kind, _, number = chat_id.rpartition(":")
    kind = kind or "group"
    if kind not in ("group", "private") or not number.isdecimal():
        raise PermanentSendError(connection.PLATFORM, "chat id is <group number>, group:<n> or private:<n>")
    return kind, "group_id" if kind == "group" else "user_id", int(number)


def _text_segment(text: str) -> dict[str, Any]:
    return {"type": "text", "data": {"text": text}}


def _media_segment(attachment: Attachment) -> dict[str, Any] | None:
    """An outbound image or voice note as a segment carrying its bytes (`base64://`); None for
    anything else."""
    decoded = decode_data_url(attachment.url or "")
    segment_type = _SEGMENT.get(attachment.kind)
    if decoded is None or segment_type is None:
        return None
    return {
        "type": segment_type,
        "data": {"file": "base64://" + base64.b64encode(decoded[1]).decode("ascii")},
    }


def create(ctx: AdapterContext) -> OneBotAdapter:
    settings = ctx.settings
    if not isinstance(settings, OneBotSettings):
        settings = OneBotSettings.model_validate(settings.model_dump())
    return OneBotAdapter(ctx, settings)
