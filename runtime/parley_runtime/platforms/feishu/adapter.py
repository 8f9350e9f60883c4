"""Feishu/Lark adapter: decrypt, verify (signature or token), url_verification, message events."""

import hmac
import json

from parley_runtime.config.platforms import FeishuSettings
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.feishu import client, convert, crypto

REQUIRED = ("appId", "appSecret", "verificationToken")
_OK = b'{"msg":"success"}'
# Feishu documents no timestamp tolerance, but re-pushes an unacknowledged event after 15 s, 5 min, 1 h
# and 6 h (event subscription doc, read on mirrors), a retry carrying the original request: the last
# comes ~7 h 5 min after the first push, so 8 h behind covers it with margin; ahead is clock skew only.
# Event-id dedup covers replays inside the window.
REPLAY_WINDOW = webhook.ReplayWindow(behind=8 * 3600, ahead=300)


def _signature_ok(request: WebhookRequest, encrypt_key: str) -> bool:
    h = request.headers
    ts, nonce = h.get("x-lark-request-timestamp", ""), h.get("x-lark-request-nonce", "")
    given = h.get("x-lark-signature", "")
    return bool(ts and given) and crypto.signature_ok(given, ts, nonce, encrypt_key, request.body)


def _fresh(request: WebhookRequest, now: float) -> bool:
    """Only meaningful once `_signature_ok` held: then the timestamp is the one Feishu signed."""
    return webhook.fresh(request.headers.get("x-lark-request-timestamp", ""), now, REPLAY_WINDOW)


class FeishuAdapter:
    def __init__(
        self,
        ctx: AdapterContext,
        settings: FeishuSettings,
        api: client.FeishuClient,
        *,
        verification_token: str,
        encrypt_key: str | None,
    ) -> None:
        self.platform = ctx.platform
        self._ctx = ctx
        self._settings = settings
        self._api = api
        self._token = verification_token
        self._encrypt_key = encrypt_key

    def __repr__(self) -> str:
        return f"FeishuAdapter(binding={self._ctx.binding!r}, encrypted={self._encrypt_key is not None})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method != "POST":
            return webhook.error(405, "method not allowed")
        payload = webhook.json_body(request.body)
        if isinstance(payload, WebhookResult):
            return payload
        if "encrypt" in payload:
            if self._encrypt_key is None or not isinstance(payload["encrypt"], str):
                return webhook.error(400, "encrypted event but no encryptKey is configured")
            try:
                plain = crypto.decrypt(self._encrypt_key, payload["encrypt"])
            except crypto.FeishuCryptoError:
                return webhook.error(400, "encrypt does not decrypt with the configured encryptKey")
            try:
                payload = webhook.json_object(plain)
            except webhook.BadJsonBody:
                return webhook.error(400, "decrypted event is not a JSON object")
        env = convert.envelope(payload)
        # As the official SDK: the token is required unless a signature protects the request.
        if (
            self._encrypt_key is None or env.event_type == "url_verification" or env.token is not None
        ) and not (env.token is not None and hmac.compare_digest(env.token.encode(), self._token.encode())):
            return webhook.error(401, "verification token mismatch", "bad-token")
        if env.event_type == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return webhook.error(400, "challenge is missing")
            return WebhookResult(status=200, body=json.dumps({"challenge": challenge}).encode())
        if self._encrypt_key is not None:  # without a key nothing signs the timestamp: dedup only
            if not _signature_ok(request, self._encrypt_key):
                return webhook.bad_signature()
            if not _fresh(request, self._ctx.clock()):
                return webhook.stale_timestamp()
        message = convert.to_inbound(payload, self._ctx.origin())
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        return WebhookResult(status=200, body=_OK, events=events)

    async def send(self, message: OutboundMessage) -> None:
        ctx = message.inbound.reply_context
        markdown = message.format == "markdown"
        limit = client.POST_CHUNK_BYTES if markdown else client.TEXT_CHUNK_BYTES
        async for index, chunk in self._ctx.unsent(message, common_text.split_utf8(message.text, limit)):
            msg_type, content = client.message_body(chunk, markdown=markdown)
            uuid = client.idempotency_uuid(message.inbound.binding, message.inbound.event_id, index)
            message_id = ctx.get("message_id")
            if isinstance(message_id, str) and message_id:
                await self._api.reply(
                    message_id, msg_type, content, uuid, in_thread=self._settings.reply_in_thread
                )
                continue
            id_type = self._settings.receive_id_type
            receive_id = ctx.get({"chat_id": "chat_id", "open_id": "open_id"}.get(id_type, "open_id"))
            if id_type in ("user_id", "union_id") or not isinstance(receive_id, str) or not receive_id:
                raise PermanentSendError(self.platform, f"no {id_type} to send to in the reply context")
            await self._api.create(id_type, receive_id, msg_type, content, uuid)


def create(ctx: AdapterContext) -> FeishuAdapter:
    creds = ctx.credentials
    webhook.require_credentials(creds, REQUIRED, platform=ctx.platform, binding=ctx.binding)
    settings = ctx.settings
    if not isinstance(settings, FeishuSettings):
        settings = FeishuSettings(api_base=settings.api_base)
    api = client.FeishuClient(
        ctx.http,
        ctx.clock,
        platform=ctx.platform,
        app_id=creds["appId"],
        app_secret=creds["appSecret"],
        api_base=settings.api_base,
    )
    return FeishuAdapter(
        ctx,
        settings,
        api,
        verification_token=creds["verificationToken"],
        encrypt_key=creds.get("encryptKey") or None,
    )
