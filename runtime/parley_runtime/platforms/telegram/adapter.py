"""Telegram adapter: secret-token webhook or long polling in, `sendMessage` out."""

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from parley_runtime.config.platforms import TelegramSettings
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import EventSink, WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.telegram import client, convert, polling, text

__all__ = ["TelegramAdapter", "create"]

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name)
_OK = b'{"ok": true}'


class TelegramAdapter:
    platform = "telegram"

    def __init__(
        self,
        ctx: AdapterContext,
        settings: TelegramSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._ctx = ctx
        self._settings = settings
        self._sleep = sleep
        token = ctx.credentials.get("botToken", "")
        self._secret = ctx.credentials.get("secretToken", "")
        username = settings.bot_username.lstrip("@") if settings.bot_username else None
        self._me = convert.BotIdentity(bot_id=convert.bot_id_from_token(token), username=username)
        self._api = client.TelegramApi(ctx.http, token, settings.api_base)

    def __repr__(self) -> str:
        return f"TelegramAdapter(binding={self._ctx.binding!r}, mode={self._settings.mode!r})"

    def _to_inbound(self, update: Any) -> InboundMessage | None:
        return convert.update_to_inbound(update, self._ctx.origin(), me=self._me)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method.upper() != "POST":
            return webhook.error(405, "use POST")
        presented = {k.lower(): v for k, v in request.headers.items()}.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(presented.encode(), self._secret.encode()):
            return webhook.error(403, "bad secret token", reason="bad-token")
        try:
            message = self._to_inbound(webhook.json_object(request.body))
        except (webhook.BadJsonBody, convert.BadUpdate) as exc:
            return webhook.error(400, str(exc))
        return WebhookResult(body=_OK, events=() if message is None else (message,))

    async def run_connection(self, sink: EventSink) -> None:
        """Long polling (settings.mode == "polling"); removes a registered webhook first, as Telegram
        refuses getUpdates while one is set."""
        if self._settings.mode != "polling":
            raise RuntimeError("telegram binding is in webhook mode; run_connection is for mode: polling")
        backoff = polling.Backoff()
        while True:
            try:
                await self._api.delete_webhook()
                break
            except Exception as exc:
                log.warning("telegram deleteWebhook failed, retrying", extra={"error": str(exc)})
                await self._sleep(backoff.next_delay())
        await polling.poll_forever(
            self._api,
            sink,
            self._to_inbound,
            poll_seconds=self._settings.poll_timeout_seconds,
            sleep=self._sleep,
        )

    async def send(self, message: OutboundMessage) -> None:
        context = message.inbound.reply_context
        chat_id = context.get("chat_id")
        if not isinstance(chat_id, (int, str)) or isinstance(chat_id, bool):
            raise PermanentSendError(self.platform, "reply context has no chat_id")
        chunks = text.split_text(message.text)
        if not chunks:
            raise PermanentSendError(self.platform, "refusing to send an empty reply")
        async for index, chunk in self._ctx.unsent(message, chunks):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": chunk}
            if index == 0 and isinstance(context.get("message_id"), int):
                payload["reply_to_message_id"] = context["message_id"]
                payload["allow_sending_without_reply"] = True
            if isinstance(context.get("message_thread_id"), int):
                payload["message_thread_id"] = context["message_thread_id"]
            await self._send_chunk(payload, markdown=message.format == "markdown")

    async def _send_chunk(self, payload: dict[str, Any], *, markdown: bool) -> None:
        if not markdown:
            await self._api.send_message(payload)
            return
        try:
            await self._api.send_message({**payload, "parse_mode": "Markdown"})
        except client.TelegramApiError as exc:
            # LLM markdown is not always valid Telegram markdown: deliver it as plain text instead.
            if exc.status != 400 or "parse entities" not in exc.description:
                raise
            await self._api.send_message(payload)


def create(ctx: AdapterContext) -> TelegramAdapter:
    settings = ctx.settings
    if not isinstance(settings, TelegramSettings):
        settings = TelegramSettings.model_validate(settings.model_dump())
    return TelegramAdapter(ctx, settings)
