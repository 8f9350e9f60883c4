"""Telegram adapter: secret-token webhook or long polling in; `sendMessage` (HTML for Markdown) and
`sendPhoto`/`sendVoice`/`sendAudio`/`sendDocument` uploads out; `getFile` for inbound media."""

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from parley_runtime.config.platforms import TelegramSettings
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import EventSink, WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown, reply, webhook
from parley_runtime.platforms.common.media import check_declared_size, download
from parley_runtime.platforms.errors import PermanentSendError, SendError
from parley_runtime.platforms.telegram import client, convert, polling, text
from parley_runtime.platforms.telegram.identity import BotIdentityCache

__all__ = ["TelegramAdapter", "create"]

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name)
_OK = b'{"ok": true}'
# What the cloud Bot API lets a bot download (getFile answers "file is too big" above it).
DOWNLOAD_LIMIT = 20 * 1024 * 1024


def _send_plain_instead(exc: client.TelegramApiError) -> bool:
    """Telegram refused a rendered chunk's markup (or, defensively, its length after rendering)."""
    description = exc.description.lower()
    return exc.status == 400 and ("parse entities" in description or "too long" in description)


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
        self._api = client.TelegramApi(ctx.http, token, settings.api_base)
        username = settings.bot_username.lstrip("@") if settings.bot_username else None
        fallback = convert.BotIdentity(bot_id=convert.bot_id_from_token(token), username=username)
        self._identity = BotIdentityCache(self._api, fallback, ctx.clock)

    def __repr__(self) -> str:
        return f"TelegramAdapter(binding={self._ctx.binding!r}, mode={self._settings.mode!r})"

    async def _to_inbound(self, update: Any) -> InboundMessage | None:
        convert.update_id(update)  # junk is refused before any call to Telegram
        me = await self._identity.get()
        return convert.update_to_inbound(update, self._ctx.origin(), me=me)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method.upper() != "POST":
            return webhook.error(405, "use POST")
        presented = {k.lower(): v for k, v in request.headers.items()}.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(presented.encode(), self._secret.encode()):
            return webhook.error(403, "bad secret token", reason="bad-token")
        try:
            message = await self._to_inbound(webhook.json_object(request.body))
        except (webhook.BadJsonBody, convert.BadUpdate) as exc:
            return webhook.error(400, str(exc))
        return WebhookResult(body=_OK, events=() if message is None else (message,))

    async def run_connection(self, sink: EventSink) -> None:
        """Long polling (settings.mode == "polling"); removes a registered webhook first, as Telegram
        refuses getUpdates while one is set, and learns the bot's identity before the first update."""
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
        await self._identity.get()
        await polling.poll_forever(
            self._api,
            sink,
            self._to_inbound,
            poll_seconds=self._settings.poll_timeout_seconds,
            sleep=self._sleep,
        )

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """`getFile` for the file's path, then its bytes from `/file/bot<token>/<path>` (never logged)."""
        check_declared_size(attachment, max_bytes)
        file_id = attachment.ref.get("file_id")
        if not file_id:
            raise MediaUnavailable(attachment.kind, "no file_id")
        try:
            found = await self._api.get_file(file_id)
        except client.TelegramApiError as exc:
            if "too big" in exc.description.lower():
                raise MediaTooLarge(
                    attachment.kind, min(max_bytes, DOWNLOAD_LIMIT), attachment.size
                ) from None
            raise MediaUnavailable(attachment.kind, f"getFile: HTTP {exc.status}") from None
        except SendError as exc:
            raise MediaUnavailable(attachment.kind, str(exc)) from None
        found = found if isinstance(found, dict) else {}
        declared, path = found.get("file_size"), found.get("file_path")
        if isinstance(declared, int) and not isinstance(declared, bool) and declared > max_bytes:
            raise MediaTooLarge(attachment.kind, max_bytes, declared)
        if not isinstance(path, str) or not path:
            raise MediaUnavailable(attachment.kind, "getFile returned no file_path")
        return await download(self._ctx.http, attachment, self._api.file_url(path), max_bytes=max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        """Text parts first (Markdown as HTML, split at 4096 UTF-16 units), then each attachment; the
        first part sent replies to the user's message."""
        context = message.inbound.reply_context
        chat_id = context.get("chat_id")
        if not isinstance(chat_id, (int, str)) or isinstance(chat_id, bool):
            raise PermanentSendError(self.platform, "reply context has no chat_id")
        is_markdown = message.format == "markdown"
        if is_markdown:
            chunks = markdown.split_markdown(message.text, text.MESSAGE_LIMIT, measure="utf16")
        else:
            chunks = text.split_text(message.text)
        parts = reply.parts(self.platform, chunks, message)
        async for index, part in self._ctx.unsent(message, parts):
            target: dict[str, Any] = {"chat_id": chat_id}
            if index == 0 and isinstance(context.get("message_id"), int):
                target["reply_to_message_id"] = context["message_id"]
                target["allow_sending_without_reply"] = True
            if isinstance(context.get("message_thread_id"), int):
                target["message_thread_id"] = context["message_thread_id"]
            if index >= len(chunks):
                await self._send_attachment(target, message.attachments[index - len(chunks)])
            elif is_markdown:
                await self._send_markdown(target, part)
            else:
                await self._api.send_message({**target, "text": part})

    async def announce(self, chat_id: str, text: str) -> None:
        """`sendMessage` to `chat_id` as given: a numeric id (negative for groups and channels) or a
        public channel's `@username`, both of which Telegram accepts as a string."""
        await self._api.send_message({"chat_id": chat_id, "text": text})

    async def _send_markdown(self, target: dict[str, Any], chunk: str) -> None:
        try:
            await self._api.send_message(
                {**target, "text": markdown.to_telegram_html(chunk), "parse_mode": "HTML"}
            )
        except client.TelegramApiError as exc:
            # Telegram refused the markup: the chunk still reaches the user, as readable plain text.
            if not _send_plain_instead(exc):
                raise
            for piece in text.split_text(markdown.to_plain(chunk)):
                await self._api.send_message({**target, "text": piece})

    async def _send_attachment(self, target: dict[str, Any], attachment: Attachment) -> None:
        method, field = convert.upload_method(attachment)
        url = attachment.url or ""
        if url.startswith(("https://", "http://")):  # Telegram fetches a public URL itself
            await self._api.call(method, {**target, field: url})
            return
        decoded = decode_data_url(url)
        if decoded is None:
            raise PermanentSendError(
                self.platform, f"reply {attachment.kind} is neither a data: nor an http URL"
            )
        mime_type, content = decoded
        upload = (field, convert.upload_name(attachment, mime_type), content, mime_type)
        await self._api.upload(method, target, upload)


def create(ctx: AdapterContext) -> TelegramAdapter:
    settings = ctx.settings
    if not isinstance(settings, TelegramSettings):
        settings = TelegramSettings.model_validate(settings.model_dump())
    return TelegramAdapter(ctx, settings)
