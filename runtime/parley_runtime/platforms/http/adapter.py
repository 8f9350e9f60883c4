"""Generic HTTP adapter: bearer-token check, JSON in, reply POSTed to a callback URL."""

import hmac
import json
import uuid

from parley_runtime.config.platforms import HttpSettings
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.http import callbacks, client, convert, media

__all__ = ["HttpAdapter", "create"]

_NO_CALLBACK = (
    "no callback URL: configure settings.callbackUrl or pass an allow-listed callback_url "
    "(POST /api/v1/chat answers synchronously instead)"
)


class HttpAdapter:
    platform = "http"

    def __init__(self, ctx: AdapterContext, settings: HttpSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._token = ctx.credentials.get("token") or None

    def __repr__(self) -> str:
        return f"HttpAdapter(binding={self._ctx.binding!r})"

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self._token is None:
            return True
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self._token.encode())

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method.upper() != "POST":
            return webhook.error(405, "use POST", headers={"allow": "POST"})
        if not self._authorized({k.lower(): v for k, v in request.headers.items()}):
            return webhook.error(
                401,
                "missing or wrong bearer token",
                reason="bad-token",
                headers={"www-authenticate": "Bearer"},
            )
        try:
            payload = convert.parse(request.body)
            callback = callbacks.choose_callback(
                payload.callback_url, self._settings.callback_url, self._settings.allowed_callback_prefixes
            )
        except ValueError as exc:  # BadPayload or a refused callback_url: both are the caller's to fix
            return webhook.error(400, str(exc))
        if callback is None:
            return webhook.error(400, _NO_CALLBACK)
        event_id = payload.message_id or uuid.uuid4().hex
        message = convert.to_inbound(payload, self._ctx.origin(), event_id=event_id, callback_url=callback)
        body = json.dumps({"accepted": True, "message_id": event_id}).encode()
        return WebhookResult(status=202, body=body, events=(message,))

    async def send(self, message: OutboundMessage) -> None:
        inbound = message.inbound
        url = inbound.reply_context.get("callback_url")
        if not isinstance(url, str) or not url:
            raise PermanentSendError(self.platform, "the inbound message carries no callback URL")
        payload: dict[str, object] = {
            "reply": message.text,
            "user_id": inbound.user_id,
            "chat_id": inbound.chat_id,
            "message_id": str(inbound.reply_context.get("message_id", inbound.event_id)),
            "track": inbound.track,
        }
        if message.attachments:
            payload["attachments"] = media.reply_attachments(message.attachments)
        async for _index, _text in self._ctx.unsent(message, [message.text]):
            await self._post(url, payload)

    async def announce(self, chat_id: str, text: str) -> None:
        """`{"reply", "chat_id"}` to the configured `callbackUrl`: the reply body without the fields of
        an inbound message (a caller's own `callback_url` comes only with one)."""
        url = self._settings.callback_url
        if not url:
            raise PermanentSendError(self.platform, "announcing needs settings.callbackUrl")
        await self._post(url, {"reply": text, "chat_id": chat_id})

    async def _post(self, url: str, payload: dict[str, object]) -> None:
        await client.post_reply(
            self._ctx.http, url, payload, timeout_seconds=self._settings.callback_timeout_seconds
        )


def create(ctx: AdapterContext) -> HttpAdapter:
    settings = ctx.settings
    if not isinstance(settings, HttpSettings):
        settings = HttpSettings.model_validate(settings.model_dump())
    return HttpAdapter(ctx, settings)
