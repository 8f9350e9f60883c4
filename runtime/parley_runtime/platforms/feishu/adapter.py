"""Feishu/Lark adapter: decrypt, verify (signature or token), url_verification, message events in;
text, Markdown cards and images out; inbound media through the message resource API."""

import hmac
import json
import logging
from typing import Any

from parley_runtime.config.platforms import FeishuSettings
from parley_runtime.core.media import decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown as common_markdown
from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.feishu import client, convert, crypto, identity

log = logging.getLogger(__name__)

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
        self._identity = identity.BotIdentity(api, ctx.clock, binding=ctx.binding)

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
        message = await self._inbound(payload)
        events: tuple[InboundMessage, ...] = (message,) if message else ()
        return WebhookResult(status=200, body=_OK, events=events)

    async def _inbound(self, payload: dict[str, Any]) -> InboundMessage | None:
        """The message, `mentioned` decided with the bot's identity where it matters (see `identity`)."""
        bot = await self._identity.open_id() if convert.bot_identity_matters(payload) else None
        message = convert.to_inbound(payload, self._ctx.origin(), bot_open_id=bot)
        if message is None or not message.is_group or message.mentioned:
            return message
        parent = convert.parent_id(payload)
        if parent and await self._identity.wrote(parent):
            return message.model_copy(update={"mentioned": True})
        return message

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        return await self._api.resource(attachment, max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        chunks = _chunks(message)
        parts = [*chunks, *(f"attachment:{i}" for i in range(len(message.attachments)))]
        async for index, part in self._ctx.unsent(message, parts):
            if index < len(chunks):
                await self._send_chunk(message, index, part)
            else:
                await self._send_attachment(message, index, message.attachments[index - len(chunks)])

    async def _send_chunk(self, message: OutboundMessage, index: int, chunk: str) -> None:
        uuid = client.idempotency_uuid(message.inbound.binding, message.inbound.event_id, index)
        if message.format != "markdown":
            await self._deliver(message, "text", client.text_content(chunk), uuid)
            return
        try:
            await self._deliver(message, "interactive", client.card_content(chunk), uuid)
        except client.Rejected as exc:
            log.info(
                "feishu: card refused (code %s), sending that part as plain text",
                exc.code,
                extra={"binding": self._ctx.binding},
            )
            plain_uuid = client.idempotency_uuid(
                message.inbound.binding, message.inbound.event_id, f"{index}:text"
            )
            plain = common_markdown.to_plain(chunk)
            await self._deliver(message, "text", client.text_content(plain), plain_uuid)

    async def _send_attachment(self, message: OutboundMessage, index: int, attachment: Attachment) -> None:
        decoded = decode_data_url(attachment.url or "")
        if attachment.kind != "image" or decoded is None:
            log.info(
                "feishu: %s attachment not sent (images given as data URLs are)",
                attachment.kind,
                extra={"binding": self._ctx.binding},
            )
            return
        mime_type, data = decoded
        try:
            image_key = await self._api.upload_image(data, mime_type)
        except client.Rejected as exc:  # too large, an unknown format…: the text already went out
            log.warning(
                "feishu: image upload refused (code %s), attachment skipped",
                exc.code,
                extra={"binding": self._ctx.binding},
            )
            return
        uuid = client.idempotency_uuid(message.inbound.binding, message.inbound.event_id, index)
        await self._deliver(message, "image", client.image_content(image_key), uuid)

    async def _deliver(self, message: OutboundMessage, msg_type: str, content: str, uuid: str) -> None:
        """Reply to the inbound message when it has an id, else create a message in the chat."""
        ctx = message.inbound.reply_context
        message_id = ctx.get("message_id")
        if isinstance(message_id, str) and message_id:
            await self._api.reply(
                message_id, msg_type, content, uuid, in_thread=self._settings.reply_in_thread
            )
            return
        id_type = self._settings.receive_id_type
        receive_id = ctx.get({"chat_id": "chat_id", "open_id": "open_id"}.get(id_type, "open_id"))
        if id_type in ("user_id", "union_id") or not isinstance(receive_id, str) or not receive_id:
            raise PermanentSendError(self.platform, f"no {id_type} to send to in the reply context")
        await self._api.create(id_type, receive_id, msg_type, content, uuid)

    async def announce(self, chat_id: str, text: str) -> None:
        """A text message to the group `chat_id` (`oc_…`) with the tenant token. No dedup uuid: two
        equal announcements within the hour are both meant."""
        await self._api.create("chat_id", chat_id, "text", client.text_content(text), None)


def _chunks(message: OutboundMessage) -> list[str]:
    """The reply's text cut at Feishu's limits: Markdown by its source, for one card each."""
    if not message.text.strip():
        return []
    if message.format == "markdown":
        return common_markdown.split_markdown(message.text, client.CARD_CHUNK_CHARS)
    return common_text.split_utf8(message.text, client.TEXT_CHUNK_BYTES)


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
