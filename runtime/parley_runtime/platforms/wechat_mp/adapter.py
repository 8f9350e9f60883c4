"""WeChat MP adapter: GET echo, plain and safe-mode POST callbacks, customer-service replies.

Official-account chats are one to one, so every message is addressed to the bot. The customer-service
API has no markup: Markdown replies are sent as readable plain text. Images in a reply are uploaded as
temporary media and sent as `image` messages; audio is not sent.
"""

import hmac
from collections.abc import Mapping

from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown, reply, webhook, wxcrypto, wxenvelope, wxmessage
from parley_runtime.platforms.wechat_mp import client, convert

REQUIRED = ("appId", "appSecret", "token")
# WeChat documents no timestamp tolerance; it drops a callback not answered within 5 s and sends it
# again, 3 attempts in all (接收普通消息), so retries span ~15 s even with the original timestamp.
# Five minutes each way covers that plus clock skew; MsgId dedup covers replays inside the window.
REPLAY_WINDOW = webhook.ReplayWindow(behind=300, ahead=300)
WORDING = wxenvelope.Wording(receive_id="appId", platform="WeChat", callback="message")


class WeChatMpAdapter:
    def __init__(
        self,
        ctx: AdapterContext,
        token: str,
        envelope: wxenvelope.Envelope | None,
        api: client.WeChatMpClient,
    ) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._token = token
        self._envelope = envelope  # None: plain mode (no EncodingAESKey configured)
        self._api = api

    def __repr__(self) -> str:
        return f"WeChatMpAdapter(binding={self._ctx.binding!r}, safe_mode={self._envelope is not None})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        return wxenvelope.route(request, url_check=self._verify_url, callback=self._receive)

    def _plain_signature_ok(self, q: Mapping[str, str]) -> bool:
        given, timestamp, nonce = (q.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (given and timestamp and nonce):
            return False
        expected = wxcrypto.sha1_signature(self._token, timestamp, nonce)
        return hmac.compare_digest(expected.encode(), given.lower().encode())

    def _fresh(self, q: Mapping[str, str]) -> bool:
        """Only meaningful once a signature over `timestamp` held."""
        return webhook.fresh(q.get("timestamp", ""), self._ctx.clock(), REPLAY_WINDOW)

    def _verify_url(self, q: Mapping[str, str]) -> WebhookResult:
        echostr = q.get("echostr", "")
        if not (echostr and q.get("signature") and q.get("timestamp") and q.get("nonce")):
            return webhook.error(400, "signature, timestamp, nonce and echostr are required")
        if not self._plain_signature_ok(q):
            return webhook.bad_signature()
        if not self._fresh(q):
            return webhook.stale_timestamp()
        return WebhookResult(status=200, body=echostr.encode(), content_type="text/plain")

    def _receive(self, request: WebhookRequest) -> WebhookResult:
        if request.query.get("encrypt_type", "raw") == "aes":
            fields_or_error = self._open_safe_mode(request)
        else:
            fields_or_error = self._open_plain(request)
        if isinstance(fields_or_error, WebhookResult):
            return fields_or_error
        message = convert.to_inbound(fields_or_error, self._ctx.origin())
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        # "success" = received, no passive reply, no retry, no "service unavailable" notice to the user.
        return WebhookResult(status=200, body=b"success", content_type="text/plain", events=events)

    def _open_plain(self, request: WebhookRequest) -> dict[str, str] | WebhookResult:
        if not self._plain_signature_ok(request.query):
            return webhook.bad_signature()
        if not self._fresh(request.query):
            return webhook.stale_timestamp()
        try:
            return wxcrypto.parse_xml(request.body)
        except wxcrypto.WxCryptError:
            return webhook.error(400, "body is not a WeChat XML message")

    def _open_safe_mode(self, request: WebhookRequest) -> dict[str, str] | WebhookResult:
        if self._envelope is None:
            return webhook.error(400, "encrypted callback but no encodingAESKey is configured")
        return self._envelope.open_callback(request.body, request.query, self._ctx.clock())

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """A received picture, voice note or video, through `media/get`."""
        return await self._api.media.fetch(attachment, max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        openid = wxmessage.recipient(message.inbound, self.platform)
        text = markdown.to_plain(message.text) if message.format == "markdown" else message.text
        chunks = client.parts(text) if text.strip() else []
        parts = reply.parts(self.platform, chunks, message)
        async for index, part in self._ctx.unsent(message, parts):
            if index < len(chunks):
                await self._api.send_text(openid, part)
                continue
            media_id = await self._api.media.upload_image(message.attachments[index - len(chunks)])
            if media_id is not None:
                await self._api.send_image(openid, media_id)

    async def announce(self, chat_id: str, text: str) -> None:
        """A customer-service text message to the follower whose openid is `chat_id`; WeChat takes it
        only within 48 h of that follower's last message (errcode 45015 otherwise, permanent)."""
        await self._api.send_text(chat_id, text)


def create(ctx: AdapterContext) -> WeChatMpAdapter:
    creds = ctx.credentials
    webhook.require_credentials(creds, REQUIRED, platform="wechat-mp", binding=ctx.binding)
    envelope = None
    if creds.get("encodingAESKey"):  # safe mode
        envelope = wxenvelope.from_credentials(
            creds, REPLAY_WINDOW, WORDING, platform="wechat-mp", binding=ctx.binding
        )
    api = client.WeChatMpClient(
        ctx.http,
        ctx.clock,
        app_id=creds["appId"],
        app_secret=creds["appSecret"],
        api_base=ctx.settings.api_base,
    )
    return WeChatMpAdapter(ctx, creds["token"], envelope, api)
