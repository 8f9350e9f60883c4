"""WeCom adapter: GET URL verification, encrypted POST callbacks, replies through `message/send`."""

from collections.abc import Mapping

from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook, wxcrypto
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.wecom import client, convert

REQUIRED = ("corpId", "agentId", "secret", "token", "encodingAESKey")
# WeCom documents no timestamp tolerance; it drops a callback not answered within 5 s and sends it
# again, 3 attempts in all (回调模式 / 接收消息), so retries span ~15 s even with the original timestamp.
# Five minutes each way covers that plus clock skew; MsgId dedup covers replays inside the window.
REPLAY_WINDOW = webhook.ReplayWindow(behind=300, ahead=300)


def _not_for_us() -> WebhookResult:
    """Signed with our token but not encrypted for our corp (wrong ReceiveId or key): the docs say 401."""
    return webhook.error(401, "Encrypt is not for this corpId", "bad-signature")


class WeComAdapter:
    def __init__(self, ctx: AdapterContext, crypt: wxcrypto.WxCrypt, api: client.WeComClient) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._crypt = crypt
        self._api = api

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            return self._verify_url(request.query)
        if request.method == "POST":
            return self._receive(request)
        return webhook.error(405, "method not allowed")

    def _verify_url(self, q: Mapping[str, str]) -> WebhookResult:
        signature, timestamp, nonce, echostr = (
            q.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr")
        )
        if not (signature and timestamp and nonce and echostr):
            return webhook.error(400, "msg_signature, timestamp, nonce and echostr are required")
        if not self._crypt.signature_ok(signature, timestamp, nonce, echostr):
            return webhook.bad_signature()
        if not webhook.fresh(timestamp, self._ctx.clock(), REPLAY_WINDOW):
            return webhook.stale_timestamp()
        try:
            plain = self._crypt.open(echostr)
        except wxcrypto.WxCryptError:
            return _not_for_us()
        # WeCom compares the body byte for byte: no quotes, no newline.
        return WebhookResult(status=200, body=plain, content_type="text/plain")

    def _receive(self, request: WebhookRequest) -> WebhookResult:
        try:
            outer = wxcrypto.parse_xml(request.body)
        except wxcrypto.WxCryptError:
            return webhook.error(400, "body is not a WeCom XML callback")
        encrypted = outer.get("Encrypt", "")
        if not encrypted:
            return webhook.error(400, "Encrypt is missing")
        q = request.query
        signature, timestamp, nonce = (q.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            return webhook.bad_signature()
        if not self._crypt.signature_ok(signature, timestamp, nonce, encrypted):
            return webhook.bad_signature()
        if not webhook.fresh(timestamp, self._ctx.clock(), REPLAY_WINDOW):
            return webhook.stale_timestamp()
        try:
            plain = self._crypt.open(encrypted)
        except wxcrypto.WxCryptError:
            return _not_for_us()
        try:
            fields = wxcrypto.parse_xml(plain)
        except wxcrypto.WxCryptError:
            return webhook.error(400, "Encrypt does not decrypt to an XML callback")
        message = convert.to_inbound(
            fields,
            bot=self._ctx.bot,
            platform=self._ctx.platform,
            binding=self._ctx.binding,
            received_at=self._ctx.clock(),
        )
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        # An empty 200 tells WeCom not to retry and not to expect a passive reply.
        return WebhookResult(status=200, body=b"", content_type="text/plain", events=events)

    async def send(self, message: OutboundMessage) -> None:
        touser = message.inbound.reply_context.get("touser") or message.inbound.user_id
        if not isinstance(touser, str) or not touser:
            raise PermanentSendError(self.platform, "no recipient in reply context")
        async for _index, chunk in self._ctx.unsent(message, client.parts(message.text)):
            await self._api.send(touser, chunk, markdown=message.format == "markdown")


def create(ctx: AdapterContext) -> WeComAdapter:
    creds = ctx.credentials
    webhook.require_credentials(creds, REQUIRED, platform="wecom", binding=ctx.binding)
    try:
        wxcrypto.aes_key(creds["encodingAESKey"])
    except wxcrypto.WxCryptError as exc:
        raise ValueError(f"wecom binding {ctx.binding}: encodingAESKey invalid ({exc})") from None
    if not creds["agentId"].strip().isdigit():
        raise ValueError(f"wecom binding {ctx.binding}: agentId must be a number")
    crypt = wxcrypto.WxCrypt(creds["token"], creds["encodingAESKey"], creds["corpId"])
    api = client.WeComClient(
        ctx.http,
        ctx.clock,
        corp_id=creds["corpId"],
        secret=creds["secret"],
        agent_id=creds["agentId"].strip(),
        api_base=ctx.settings.api_base,
    )
    return WeComAdapter(ctx, crypt, api)
