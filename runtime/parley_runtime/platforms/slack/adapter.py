"""Slack adapter: signed Events API callbacks in, `chat.postMessage` (optionally in thread) out."""

import json
from typing import Any

from parley_runtime.config.platforms import SlackSettings
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.slack import client, convert, crypto, text

__all__ = ["SlackAdapter", "create"]


class SlackAdapter:
    platform = "slack"

    def __init__(self, ctx: AdapterContext, settings: SlackSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._token = ctx.credentials.get("botToken", "")
        self._secret = ctx.credentials.get("signingSecret", "")

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
        try:
            message = convert.event_to_inbound(envelope, self._ctx.origin())
        except convert.BadEvent as exc:
            return webhook.error(400, str(exc))
        return WebhookResult(body=b"{}", events=() if message is None else (message,))

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
        chunks = text.split_text(message.text)
        if not chunks:
            raise PermanentSendError(self.platform, "refusing to send an empty reply")
        thread_ts = self._thread_ts(message)
        async for _index, chunk in self._ctx.unsent(message, chunks):
            payload: dict[str, Any] = {"channel": channel, "text": chunk}
            if thread_ts is not None:
                payload["thread_ts"] = thread_ts
            await client.post_message(self._ctx.http, self._settings.api_base, self._token, payload)


def create(ctx: AdapterContext) -> SlackAdapter:
    settings = ctx.settings
    if not isinstance(settings, SlackSettings):
        settings = SlackSettings.model_validate(settings.model_dump())
    return SlackAdapter(ctx, settings)
