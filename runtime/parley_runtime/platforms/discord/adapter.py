"""Discord adapter: the HTTP interactions endpoint (PING, slash commands), interaction follow-ups with
text and files, and the files given to a command fetched from Discord's CDN."""

import json
import logging
import mimetypes

from parley_runtime.config.platforms import DiscordSettings
from parley_runtime.core.media import decode_data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import ed25519, media, reply, webhook
from parley_runtime.platforms.discord import client, convert, text
from parley_runtime.platforms.errors import PermanentSendError

__all__ = ["DiscordAdapter", "create"]

log = logging.getLogger(__name__)

PONG = b'{"type": 1}'
DEFERRED_CHANNEL_MESSAGE = b'{"type": 5}'  # "thinking…", edited by send() within 15 minutes
DEFERRED_UPDATE = b'{"type": 6}'  # acknowledges components/modals the bot does not handle
# Discord documents no timestamp tolerance and no redelivery: it waits 3 s for the answer to each
# interaction, so a genuine one is never older than that. Five minutes each way (Slack's documented
# rule) only absorbs clock skew.
REPLAY_WINDOW = webhook.ReplayWindow(behind=300, ahead=300)


def _public_key(hex_key: str) -> bytes:
    try:
        key = bytes.fromhex(hex_key)
    except ValueError:
        return b""
    return key if len(key) == ed25519.SEED_BYTES else b""  # a malformed key makes every request fail


class DiscordAdapter:
    platform = "discord"

    def __init__(self, ctx: AdapterContext, settings: DiscordSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._public_key = _public_key(ctx.credentials.get("publicKey", ""))
        # Who the bot is: slash commands are addressed to it by construction, so the id only names the
        # follow-up webhook when a reply context lacks the interaction's own `application_id`.
        self._application_id = ctx.credentials.get("applicationId", "")
        self._bot_token = ctx.credentials.get("botToken", "")

    def __repr__(self) -> str:
        return f"DiscordAdapter(binding={self._ctx.binding!r})"

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        interaction = ed25519.signed_json(
            request, self._public_key, now=self._ctx.clock(), window=REPLAY_WINDOW
        )
        if isinstance(interaction, WebhookResult):
            return interaction
        if not isinstance(interaction.get("type"), int):
            return webhook.error(400, "body is not an interaction")
        kind = interaction["type"]
        if kind == convert.PING:
            return WebhookResult(body=PONG)
        if kind != convert.APPLICATION_COMMAND:
            if kind == 4:  # autocomplete: no suggestions
                return WebhookResult(body=b'{"type": 8, "data": {"choices": []}}')
            return WebhookResult(body=DEFERRED_UPDATE)
        try:
            message = convert.interaction_to_inbound(
                interaction, self._ctx.origin(), ask_commands=self._settings.ask_commands
            )
        except convert.BadInteraction as exc:
            return webhook.error(400, str(exc))
        if message is None:
            body = json.dumps(
                {"type": 4, "data": {"content": "This command has no text to answer.", "flags": 64}}
            )
            return WebhookResult(body=body.encode())
        return WebhookResult(body=DEFERRED_CHANNEL_MESSAGE, events=(message,))

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """The attachment's CDN URL: signed by Discord, so no credentials go with it."""
        return await media.download_from_url(self._ctx.http, attachment, max_bytes=max_bytes)

    async def send(self, message: OutboundMessage) -> None:
        """The first part edits the deferred "thinking…" response, every other one is a follow-up."""
        context = message.inbound.reply_context
        app_id = context.get("application_id") or self._application_id
        token = context.get("interaction_token")
        if not isinstance(app_id, str) or not app_id or not isinstance(token, str):
            raise PermanentSendError(self.platform, "reply context has no interaction token")
        markdown = message.format == "markdown"
        chunks = text.markdown_chunks(message.text) if markdown else text.split_text(message.text)
        parts = reply.parts(self.platform, chunks, message)
        api_base = self._settings.api_base
        async for index, part in self._ctx.unsent(message, parts):
            content, upload = part, None
            if index >= len(chunks):
                position = index - len(chunks)
                content, upload = "", _upload(message.attachments[position], position)
                if upload is None:
                    log.warning("discord reply attachment %d is not a data URL; skipped", position + 1)
                    continue
            await client.send(self._ctx.http, api_base, app_id, token, content, upload, original=index == 0)

    async def announce(self, chat_id: str, text: str) -> None:
        """A message in the channel whose id is `chat_id` (Developer Mode → Copy Channel ID), with the
        bot token: interaction tokens only answer a command."""
        if not chat_id.isdecimal():
            raise PermanentSendError(self.platform, "a channel id is a number (Copy Channel ID)")
        await client.post_to_channel(self._ctx.http, self._settings.api_base, self._bot_token, chat_id, text)


def _upload(attachment: Attachment, position: int) -> client.Upload | None:
    decoded = decode_data_url(attachment.url or "")
    if decoded is None:
        return None
    mime_type, data = decoded
    name = (
        attachment.name or f"{attachment.kind}-{position + 1}{mimetypes.guess_extension(mime_type) or '.bin'}"
    )
    return client.Upload(filename=name, data=data, mime_type=mime_type)


def create(ctx: AdapterContext) -> DiscordAdapter:
    settings = ctx.settings
    if not isinstance(settings, DiscordSettings):
        settings = DiscordSettings.model_validate(settings.model_dump())
    return DiscordAdapter(ctx, settings)
