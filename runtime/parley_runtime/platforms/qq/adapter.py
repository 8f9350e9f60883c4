"""QQ adapter: signed webhook (op 13 validation, op 0 dispatch → ACK op 12) in, passive replies out
(and, for `announce`, a proactive group message, which QQ may refuse: see `QQAdapter.announce`).

Replies are plain text (QQ's markdown needs a template approved per bot, so Markdown is rendered as
readable text). Images in a reply go out only in guild channels (multipart `file_image`): QQ groups and
private chats take rich media from a public URL only (`/v2/…/files` with `url`; its `file_data` is
documented as "not supported yet"), so there they are left out. Audio is never sent (QQ wants SILK).
"""

import json
import logging
import re
from collections import OrderedDict

from parley_runtime.config.platforms import QQSettings
from parley_runtime.core.media import decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import ed25519, markdown, media, reply, webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.qq import client, convert, crypto, text

__all__ = ["QQAdapter", "create"]

log = logging.getLogger(__name__)

OP_DISPATCH, OP_ACK, OP_VALIDATION = 0, 12, 13
TARGETS = ("user", "group", "channel")
ACK = b'{"op": 12}'
_SEQ_MEMORY = 4096
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # what may go into the message URL's path
# QQ documents neither a timestamp tolerance nor its retry schedule. A message older than the longest
# passive-reply window (60 min after a C2C message; 5 min in groups) can no longer be answered and
# proactive messages are gone (send.md), so 1 h behind never refuses an answerable delivery, retried
# with its original timestamp or not. Ahead is clock skew only.
REPLAY_WINDOW = webhook.ReplayWindow(behind=3600, ahead=300)


class QQAdapter:
    platform = "qq"

    def __init__(self, ctx: AdapterContext, settings: QQSettings) -> None:
        self._ctx = ctx
        self._secret = ctx.credentials.get("appSecret", "")
        self._public = crypto.public_key(self._secret) if self._secret else b""
        api_base = settings.api_base or (client.SANDBOX_API_BASE if settings.sandbox else client.API_BASE)
        self._api = client.QQApi(
            ctx.http,
            app_id=ctx.credentials.get("appId", ""),
            app_secret=self._secret,
            api_base=api_base,
            token_base=settings.token_base or client.AUTH_BASE,
            clock=ctx.clock,
        )
        self._seqs: OrderedDict[str, int] = OrderedDict()

    def __repr__(self) -> str:
        return f"QQAdapter(binding={self._ctx.binding!r})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        # QQ signs callbacks as Discord does (see `crypto`), with the key pair of the app secret.
        payload = ed25519.signed_json(request, self._public, now=self._ctx.clock(), window=REPLAY_WINDOW)
        if isinstance(payload, WebhookResult):
            return payload
        if not isinstance(payload.get("op"), int):
            return webhook.error(400, "body is not a QQ payload")
        op, data = payload["op"], payload.get("d")
        if op == OP_VALIDATION:
            if not isinstance(data, dict):
                return webhook.error(400, "op 13 without d")
            plain, event_ts = data.get("plain_token"), data.get("event_ts")
            if not isinstance(plain, str) or not isinstance(event_ts, str):
                return webhook.error(400, "op 13 without plain_token/event_ts")
            answer = {
                "plain_token": plain,
                "signature": crypto.sign_validation(self._secret, event_ts, plain),
            }
            return WebhookResult(body=json.dumps(answer).encode())
        if op != OP_DISPATCH:
            return WebhookResult(body=ACK)
        try:
            message = convert.dispatch_to_inbound(payload, self._ctx.origin())
        except convert.BadPayload as exc:
            return webhook.error(400, str(exc))
        return WebhookResult(body=ACK, events=() if message is None else (message,))

    def _next_seq(self, msg_id: str, floor: int) -> int:
        """Unique msg_seq per inbound msg_id: QQ refuses a repeated (msg_id, msg_seq). `floor` comes from
        the delivery attempt, so a retry on another replica does not reuse the first attempt's numbers."""
        seq = max(self._seqs.get(msg_id, 0) + 1, floor)
        self._seqs[msg_id] = seq
        self._seqs.move_to_end(msg_id)
        while len(self._seqs) > _SEQ_MEMORY:
            self._seqs.popitem(last=False)
        return seq

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """QQ serves attachments from signed CDN URLs: a plain GET, no token."""
        return await media.download_from_url(self._ctx.http, attachment, max_bytes=max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        context = message.inbound.reply_context
        target, openid, msg_id = context.get("target"), context.get("openid"), context.get("msg_id")
        if target not in TARGETS or not isinstance(openid, str) or not isinstance(msg_id, str):
            raise PermanentSendError(self.platform, "reply context has no target/openid/msg_id")
        body = markdown.to_plain(message.text) if message.format == "markdown" else message.text
        chunks = text.split_text(body)
        parts = reply.parts(self.platform, chunks, message)
        floor = message.attempt * text.MAX_REPLIES + 1
        async for index, part in self._ctx.unsent(message, parts):
            if index >= len(chunks):
                await self._send_attachment(
                    str(target), openid, msg_id, message.attachments[index - len(chunks)]
                )
            elif target == "channel":
                await self._api.send_message("channel", openid, {"content": part, "msg_id": msg_id})
            else:
                payload = {
                    "content": part,
                    "msg_type": 0,
                    "msg_id": msg_id,
                    "msg_seq": self._next_seq(msg_id, floor),
                }
                await self._api.send_message(str(target), openid, payload)

    async def announce(self, chat_id: str, text: str) -> None:
        """A proactive message (no `msg_id`) to the group whose `group_openid` is `chat_id`: reply
        contexts are the only thing here that tells groups, users and channels apart, so an id alone
        means a group. QQ stopped proactive messages on 2025-04-21; what it answers now is raised as
        the usual send error."""
        if not _OPENID.fullmatch(chat_id):
            raise PermanentSendError(self.platform, "a group_openid is letters and digits")
        await self._api.send_message("group", chat_id, {"content": text, "msg_type": 0})

    async def _send_attachment(self, target: str, openid: str, msg_id: str, attachment: Attachment) -> None:
        decoded = decode_data_url(attachment.url or "")
        image = decoded is not None and attachment.kind == "image" and decoded[0].startswith("image/")
        if target == "channel" and decoded is not None and image:
            await self._api.send_channel_image(openid, msg_id, decoded[1], decoded[0])
            return
        why = "QQ groups and private chats take media only from a public URL" if image else "not an image"
        log.warning("qq reply attachment not sent", extra={"attachment": repr(attachment), "why": why})


def create(ctx: AdapterContext) -> QQAdapter:
    settings = ctx.settings
    if not isinstance(settings, QQSettings):
        settings = QQSettings.model_validate(settings.model_dump())
    return QQAdapter(ctx, settings)
