"""Slack adapter: signed Events API callbacks in, `chat.postMessage` and file uploads (optionally in
thread) out, files of inbound messages fetched with the bot token."""

import asyncio
import json
import logging
import mimetypes
from typing import Any
from urllib.parse import urlsplit

from parley_runtime.config.platforms import SlackSettings
from parley_runtime.core.media import MediaUnavailable, decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import media, reply, webhook
from parley_runtime.platforms.errors import PermanentSendError, SendError
from parley_runtime.platforms.slack import client, convert, crypto, text

__all__ = ["SlackAdapter", "create"]

log = logging.getLogger(__name__)

# `auth.test` runs while Slack waits (3 s) for the acknowledgement: after a failure it is not tried
# again for a minute, so an outage of it costs one slow request, not one per message.
IDENTITY_RETRY_SECONDS = 60.0


class BotIdentity:
    """The bot's user id from `auth.test`, for envelopes whose `authorizations` do not name it.
    `user_id()` never raises: intake goes on without it (Slack's `app_mention` still says when the bot
    was mentioned) and asks again after a pause."""

    def __init__(self, ctx: AdapterContext, api_base: str | None, token: str) -> None:
        self._ctx, self._api_base, self._token = ctx, api_base, token
        self._user_id: str | None = None
        self._retry_at = float("-inf")
        self._lock = asyncio.Lock()

    def _settled(self) -> bool:
        return self._user_id is not None or not self._token or self._ctx.clock() < self._retry_at

    async def user_id(self) -> str | None:
        if self._settled():
            return self._user_id
        async with self._lock:  # concurrent first events share one auth.test
            if not self._settled():
                await self._learn()
        return self._user_id

    async def _learn(self) -> None:
        try:
            self._user_id = await client.auth_test(self._ctx.http, self._api_base, self._token)
            return
        except SendError as exc:  # token-free by construction
            cause = str(exc)
        except Exception as exc:  # anything else must not stop intake either
            cause = type(exc).__name__
        self._retry_at = self._ctx.clock() + IDENTITY_RETRY_SECONDS
        log.warning("slack auth.test failed; mentions rely on app_mention events", extra={"error": cause})


def _filename(attachment: Attachment, mime_type: str, index: int) -> str:
    if attachment.name:
        return attachment.name
    return f"{attachment.kind}-{index + 1}{mimetypes.guess_extension(mime_type) or '.bin'}"


class SlackAdapter:
    platform = "slack"

    def __init__(self, ctx: AdapterContext, settings: SlackSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._token = ctx.credentials.get("botToken", "")
        self._secret = ctx.credentials.get("signingSecret", "")
        self._identity = BotIdentity(ctx, settings.api_base, self._token)

    def __repr__(self) -> str:
        return f"SlackAdapter(binding={self._ctx.binding!r})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method.upper() != "POST":
            return webhook.error(405, "use POST")
        headers = {k.lower(): v for k, v in request.headers.items()}
        verdict = crypto.verify(
            self._secret,
            headers.get("x-slack-request-timestamp", ""),
            headers.get("x-slack-signature", ""),
            request.body,
            now=self._ctx.clock(),
        )
        if verdict is not crypto.Verdict.OK:
            return webhook.error(401, "request signature verification failed", reason=verdict.value)
        try:
            envelope = webhook.json_object(request.body)
        except webhook.BadJsonBody as exc:
            return webhook.error(400, f"{exc} (only the Events API is supported)")
        kind = envelope.get("type")
        if kind == "url_verification":
            challenge = envelope.get("challenge")
            if not isinstance(challenge, str):
                return webhook.error(400, "url_verification without challenge")
            return WebhookResult(body=json.dumps({"challenge": challenge}).encode())
        if kind != "event_callback":
            return WebhookResult(body=b"{}")  # app_rate_limited notices and future envelope types
        bot_id = None if convert.bot_user_id(envelope) else await self._identity.user_id()
        try:
            message = convert.event_to_inbound(envelope, self._ctx.origin(), bot_id=bot_id)
        except convert.BadEvent as exc:
            return webhook.error(400, str(exc))
        return WebhookResult(body=b"{}", events=() if message is None else (message,))

    def _may_carry_token(self, url: str) -> bool:
        """The bot token goes only to Slack (or to the configured API host): never to a URL that merely
        appeared in a payload."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == urlsplit(self._settings.api_base or client.DEFAULT_API_BASE).hostname:
            return True
        return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """`url_private(_download)` with the bot token (Slack answers a redirect to its login page,
        not followed, when the token lacks `files:read`)."""
        media.check_declared_size(attachment, max_bytes)
        if not attachment.url or not self._may_carry_token(attachment.url):
            raise MediaUnavailable(attachment.kind, "no Slack file URL")
        headers = {"authorization": f"Bearer {self._token}"}
        return await media.download(
            self._ctx.http, attachment, attachment.url, max_bytes=max_bytes, headers=headers
        )

    def _thread_ts(self, message: OutboundMessage) -> str | None:
        context = message.inbound.reply_context
        if isinstance(context.get("thread_ts"), str):
            return str(context["thread_ts"])  # the conversation already is a thread: stay in it
        if self._settings.reply_in_thread and message.inbound.is_group and isinstance(context.get("ts"), str):
            return str(context["ts"])
        return None

    async def send(self, message: OutboundMessage) -> None:
        channel = message.inbound.reply_context.get("channel")
        if not isinstance(channel, str) or not channel:
            raise PermanentSendError(self.platform, "reply context has no channel")
        markdown = message.format == "markdown"
        chunks = text.markdown_chunks(message.text) if markdown else text.split_text(message.text)
        parts = reply.parts(self.platform, chunks, message)
        thread_ts = self._thread_ts(message)
        async for index, part in self._ctx.unsent(message, parts):
            if index >= len(chunks):
                position = index - len(chunks)
                await self._send_file(message.attachments[position], position, channel, thread_ts)
                continue
            payload: dict[str, Any] = {"channel": channel, "text": part}
            if markdown:
                payload["mrkdwn"] = True
            if thread_ts is not None:
                payload["thread_ts"] = thread_ts
            await client.post_message(self._ctx.http, self._settings.api_base, self._token, payload)

    async def announce(self, chat_id: str, text: str) -> None:
        """`chat.postMessage` to the channel id `chat_id` (`C…`, `G…` or a DM's `D…`); the bot must
        be a member of it."""
        payload = {"channel": chat_id, "text": text}
        await client.post_message(self._ctx.http, self._settings.api_base, self._token, payload)

    async def _send_file(
        self, attachment: Attachment, index: int, channel: str, thread_ts: str | None
    ) -> None:
        decoded = decode_data_url(attachment.url or "")
        if decoded is None or not decoded[1]:
            log.warning("slack reply attachment %d is not a data URL with content; skipped", index + 1)
            return
        mime_type, data = decoded
        name = _filename(attachment, mime_type, index)
        http, api_base = self._ctx.http, self._settings.api_base
        target = await client.get_upload_url(http, api_base, self._token, name, len(data))
        await client.upload_bytes(http, target, data, mime_type)
        await client.complete_upload(
            http, api_base, self._token, target, title=name, channel=channel, thread_ts=thread_ts
        )


def create(ctx: AdapterContext) -> SlackAdapter:
    settings = ctx.settings
    if not isinstance(settings, SlackSettings):
        settings = SlackSettings.model_validate(settings.model_dump())
    return SlackAdapter(ctx, settings)
