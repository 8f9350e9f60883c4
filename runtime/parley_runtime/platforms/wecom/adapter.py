"""WeCom adapter: GET URL verification, encrypted POST callbacks, replies through `message/send`.

App messages are one to one, so every message is addressed to the bot. Markdown replies go out as
WeCom `markdown` messages (its subset, cut at 2048 bytes of source); a chunk WeCom refuses is sent again
as plain text. Images in a reply are uploaded as temporary media and sent as `image` messages; audio is
not sent (WeCom voice messages must be AMR).
"""

import logging
from collections.abc import Mapping

from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown, reply, webhook, wxapi, wxenvelope, wxmessage
from parley_runtime.platforms.wecom import client, convert

log = logging.getLogger(__name__)

REQUIRED = ("corpId", "agentId", "secret", "token", "encodingAESKey")
# WeCom documents no timestamp tolerance; it drops a callback not answered within 5 s and sends it
# again, 3 attempts in all (回调模式 / 接收消息), so retries span ~15 s even with the original timestamp.
# Five minutes each way covers that plus clock skew; MsgId dedup covers replays inside the window.
REPLAY_WINDOW = webhook.ReplayWindow(behind=300, ahead=300)
WORDING = wxenvelope.Wording(receive_id="corpId", platform="WeCom", callback="callback")


class WeComAdapter:
    def __init__(self, ctx: AdapterContext, envelope: wxenvelope.Envelope, api: client.WeComClient) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._envelope = envelope
        self._api = api

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        return wxenvelope.route(request, url_check=self._verify_url, callback=self._receive)

    def _verify_url(self, q: Mapping[str, str]) -> WebhookResult:
        signature, timestamp, nonce, echostr = (
            q.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr")
        )
        if not (signature and timestamp and nonce and echostr):
            return webhook.error(400, "msg_signature, timestamp, nonce and echostr are required")
        plain = self._envelope.open_signed(echostr, q, self._ctx.clock())
        if isinstance(plain, WebhookResult):
            return plain
        # WeCom compares the body byte for byte: no quotes, no newline.
        return WebhookResult(status=200, body=plain, content_type="text/plain")

    def _receive(self, request: WebhookRequest) -> WebhookResult:
        fields = self._envelope.open_callback(request.body, request.query, self._ctx.clock())
        if isinstance(fields, WebhookResult):
            return fields
        message = convert.to_inbound(fields, self._ctx.origin())
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        # An empty 200 tells WeCom not to retry and not to expect a passive reply.
        return WebhookResult(status=200, body=b"", content_type="text/plain", events=events)

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """A received picture, voice note or video, through `media/get`."""
        return await self._api.media.fetch(attachment, max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        touser = wxmessage.recipient(message.inbound, self.platform)
        is_markdown = message.format == "markdown"
        chunks = text_chunks(message.text, is_markdown=is_markdown)
        parts = reply.parts(self.platform, chunks, message)
        async for index, part in self._ctx.unsent(message, parts):
            if index >= len(chunks):
                media_id = await self._api.media.upload_image(message.attachments[index - len(chunks)])
                if media_id is not None:
                    await self._api.send_image(touser, media_id)
            elif is_markdown:
                await self._send_markdown(touser, part)
            else:
                await self._api.send(touser, part)

    async def announce(self, chat_id: str, text: str) -> None:
        """An app message (`message/send`) to the member whose userid is `chat_id` (several joined by
        `|`, or `@all`): the app talks one to one, and `appchat/send` reaches only group chats the app
        created itself, which Parley does not."""
        await self._api.send(chat_id, text)

    async def _send_markdown(self, touser: str, chunk: str) -> None:
        """One chunk of Markdown source as a WeCom `markdown` message, or as plain text when WeCom
        refuses it (or it grew past the limit while rendering)."""
        rendered = markdown.to_wecom_markdown(chunk)
        if len(rendered.encode()) <= client.MAX_CONTENT_BYTES:
            try:
                await self._api.send(touser, rendered, markdown=True)
                return
            except wxapi.Refused as exc:
                log.info("wecom refused a markdown message; sending it as text", extra={"error": str(exc)})
        for piece in client.parts(markdown.to_plain(chunk)):
            await self._api.send(touser, piece)


def text_chunks(text: str, *, is_markdown: bool) -> list[str]:
    """The text parts of a reply: Markdown source cut for rendering, or plain text cut at the limit."""
    if not text.strip():
        return []
    if is_markdown:
        return markdown.split_markdown(text, client.MAX_CONTENT_BYTES, measure="utf8")
    return client.parts(text)


def create(ctx: AdapterContext) -> WeComAdapter:
    creds = ctx.credentials
    webhook.require_credentials(creds, REQUIRED, platform="wecom", binding=ctx.binding)
    envelope = wxenvelope.from_credentials(
        creds, REPLAY_WINDOW, WORDING, platform="wecom", binding=ctx.binding
    )
    if not creds["agentId"].strip().isdigit():
        raise ValueError(f"wecom binding {ctx.binding}: agentId must be a number")
    api = client.WeComClient(
        ctx.http,
        ctx.clock,
        corp_id=creds["corpId"],
        secret=creds["secret"],
        agent_id=creds["agentId"].strip(),
        api_base=ctx.settings.api_base,
    )
    return WeComAdapter(ctx, envelope, api)
