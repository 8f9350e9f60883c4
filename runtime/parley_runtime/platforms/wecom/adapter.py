"""WeCom adapter: GET URL verification, encrypted POST callbacks, replies through `message/send`."""

from collections.abc import Mapping

from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook, wxenvelope
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.wecom import client, convert

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

    async def send(self, message: OutboundMessage) -> None:
        touser = message.inbound.reply_context.get("touser") or message.inbound.user_id
        if not isinstance(touser, str) or not touser:
            raise PermanentSendError(self.platform, "no recipient in reply context")
        async for _index, chunk in self._ctx.unsent(message, client.parts(message.text)):
            await self._api.send(touser, chunk, markdown=message.format == "markdown")


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
