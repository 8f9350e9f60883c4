"""DingTalk adapter: signed HTTP robot callbacks (mode http) or the Stream connection (mode stream)."""

from parley_runtime.config.platforms import DingTalkSettings
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.dingtalk import client, convert, crypto, reply, stream

REQUIRED = ("appKey", "appSecret")
# The robot callback doc (接收消息): valid only if |now - timestamp| <= 1 hour, timestamp in ms. The
# signature covers the timestamp but not the body, so this window (with msgId dedup) bounds replays.
REPLAY_WINDOW = webhook.ReplayWindow(behind=3600, ahead=3600, milliseconds=True)


class DingTalkAdapter:
    def __init__(
        self, ctx: AdapterContext, settings: DingTalkSettings, api: client.DingTalkClient, *, app_secret: str
    ) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._settings = settings
        self._api = api
        self._secret = app_secret

    def __repr__(self) -> str:
        return f"DingTalkAdapter(binding={self._ctx.binding!r})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method != "POST":
            return webhook.error(405, "method not allowed")
        timestamp, sign = request.headers.get("timestamp", ""), request.headers.get("sign", "")
        if not (timestamp and sign):
            return webhook.error(401, "timestamp and sign headers are required", "bad-signature")
        if not crypto.sign_ok(sign, timestamp, self._secret):
            return webhook.bad_signature()
        if not webhook.fresh(timestamp, self._ctx.clock(), REPLAY_WINDOW):
            return webhook.stale_timestamp()
        payload = webhook.json_body(request.body)
        if isinstance(payload, WebhookResult):
            return payload
        message = convert.to_inbound(payload, self._ctx.origin())
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        return WebhookResult(status=200, body=b"{}", events=events)

    async def send(self, message: OutboundMessage) -> None:
        await reply.deliver(self._api, message, robot_code=self._settings.robot_code, adapter=self._ctx)

    async def announce(self, chat_id: str, text: str) -> None:
        await reply.announce(self._api, chat_id, text, robot_code=self._settings.robot_code)

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        robot_code = self._api.robot_code_for(self._settings.robot_code)
        return await self._api.fetch_media(attachment, max_bytes, robot_code=robot_code)


def create(ctx: AdapterContext) -> DingTalkAdapter | stream.DingTalkStreamConnection:
    creds = ctx.credentials
    webhook.require_credentials(creds, REQUIRED, platform="dingtalk", binding=ctx.binding)
    settings = ctx.settings
    if not isinstance(settings, DingTalkSettings):
        settings = DingTalkSettings(api_base=settings.api_base)
    api = client.DingTalkClient(
        ctx.http,
        ctx.clock,
        app_key=creds["appKey"],
        app_secret=creds["appSecret"],
        api_base=settings.api_base,
    )
    if settings.mode == "stream":
        return stream.DingTalkStreamConnection(
            ctx, settings, api, app_key=creds["appKey"], app_secret=creds["appSecret"]
        )
    return DingTalkAdapter(ctx, settings, api, app_secret=creds["appSecret"])
