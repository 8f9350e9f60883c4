"""What a message's pictures, voice notes and files become before the model sees them
(docs/conversations.md).

Gather, decide, act for one message's attachments:
- refuse first what no route can take (an image without a `vision` route, a voice note without a
  transcript or an `stt` route): the user is told so, nothing is downloaded;
- fetch the bytes within the bot's `spec.media` limit: a `data:` URL decodes in place, anything else
  comes through the adapter that received the message (`FetchMedia`);
- images become the user turn's `images` as `data:` URLs; a voice note's transcript (the platform's
  own, else a route tagged `stt`) is the text, before any caption; a file adds a line naming it (the
  model learns a file came; its bytes are not fetched, nothing would read them).

Sessions stay small: the turn kept in the session is text only, with markers where media was
(`[image]`, `[voice] <transcript>`, `[file: …]`), never the bytes. Media bytes never reach a log line.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from parley_runtime.config.models import Media
from parley_runtime.core import media
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.core.protocols import FetchMedia, MediaSource, ModelRouter

__all__ = [
    "IMAGES_UNSUPPORTED",
    "MAX_ATTACHMENTS",
    "VOICE_FAILED",
    "VOICE_UNSUPPORTED",
    "Download",
    "Inputs",
    "MediaInputs",
    "Refusal",
    "fetcher",
    "file_line",
    "image_mime",
]

log = logging.getLogger("parley.media")

# Per message: the chat API takes 8 pictures and a voice note; any more are logged and left out.
MAX_ATTACHMENTS = 9

IMAGES_UNSUPPORTED = "I can't look at images here: no model for images is configured."
VOICE_UNSUPPORTED = "I can't listen to voice messages here: no model for speech is configured."
VOICE_FAILED = "Sorry, I could not make out that voice message. Please try again or send it as text."

Download = Callable[[Attachment, str, int], Awaitable[bytes]]
"""Fetches an http(s) URL within a size (`platforms.common.media.download` with the shared client)."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """A message with attachments, made ready for the model and the session."""

    turn: ChatMessage  # what the model reads: text (transcripts, file lines) and images
    remembered: ChatMessage  # what the session keeps: text with markers, no bytes
    voice: bool  # a voice note came: the answer may be spoken back


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the message is not asked of the model, in a sentence for the user, and the outcome."""

    text: str
    outcome: Literal["unsupported", "media_refused", "error"]


class _NotHeard(Exception):
    """No `stt` route could transcribe the voice note."""


def image_mime(data: bytes, declared: str) -> str:
    """The image's type from its first bytes (platforms often say octet-stream), else the declared one
    when it names an image, else JPEG."""
    return media.sniff_image(data) or (declared if declared.startswith("image/") else "image/jpeg")


def file_line(attachment: Attachment) -> str:
    """`[file: report.pdf, application/pdf, 120 KiB]`: what the model and the session see of a file."""
    facts = [attachment.name or "unnamed", attachment.mime_type]
    if attachment.size is not None:
        facts.append(media.human_size(attachment.size))
    return f"[file: {', '.join(facts)}]"


def fetcher(sources: Mapping[tuple[str, str], MediaSource], download: Download | None) -> FetchMedia:
    """Fetches through the adapter of the message's (platform, binding); an http(s) URL of a message no
    adapter received (the chat API) through `download`."""

    async def fetch(message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        source = sources.get((message.platform, message.binding))
        if source is not None:
            return await source.fetch_media(message, attachment, max_bytes)
        url = attachment.url or ""
        if download is not None and url.lower().startswith(("http://", "https://")):
            return await download(attachment, url, max_bytes)
        raise media.MediaUnavailable(attachment.kind, "no source")

    return fetch


def _joined(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


class MediaInputs:
    """Turns a message's attachments into `Inputs`, or a `Refusal` the user is told."""

    def __init__(self, limits: Media, model: ModelRouter, fetch: FetchMedia | None) -> None:
        self.limits = limits
        self.model = model
        self.fetch = fetch

    async def resolve(self, message: InboundMessage) -> Inputs | Refusal:
        found = message.attachments[:MAX_ATTACHMENTS]
        if len(message.attachments) > MAX_ATTACHMENTS:
            log.info(
                "attachments left out",
                extra={"event_id": message.event_id, "count": len(message.attachments)},
            )
        refused = self._unsupported(found)
        if refused is not None:
            return refused
        images: list[str] = []
        spoken: list[str] = []
        files: list[str] = []
        try:
            for attachment in found:
                if attachment.kind == "image":
                    data = await self._bytes(message, attachment)
                    images.append(media.data_url(data, image_mime(data, attachment.mime_type)))
                elif attachment.kind == "audio":
                    transcript = attachment.transcript or await self._transcribe(message, attachment)
                    if not transcript.strip():
                        return Refusal(VOICE_FAILED, "error")
                    spoken.append(transcript.strip())
                else:
                    if attachment.size is not None and attachment.size > self.limits.limit("file"):
                        raise media.MediaTooLarge("file", self.limits.limit("file"), attachment.size)
                    files.append(file_line(attachment))
        except media.MediaError as exc:
            return self._refused(message, exc)
        except _NotHeard:
            return Refusal(VOICE_FAILED, "error")
        caption = message.text
        text = _joined(*spoken, caption, *files)
        said = _joined(*(f"[voice] {t}" for t in spoken), caption, *files)
        marked = " ".join(["[image]"] * len(images) + ([said] if said else []))
        return Inputs(
            turn=ChatMessage(role="user", content=text, images=tuple(images)),
            remembered=ChatMessage(role="user", content=marked),
            voice=bool(spoken),
        )

    def _unsupported(self, found: tuple[Attachment, ...]) -> Refusal | None:
        """Decided before any download: what no configured route could take."""
        if any(a.kind == "image" for a in found) and not self.model.offers("vision"):
            return Refusal(IMAGES_UNSUPPORTED, "unsupported")
        if any(a.kind == "audio" and not a.transcript for a in found) and not self.model.offers("stt"):
            return Refusal(VOICE_UNSUPPORTED, "unsupported")
        return None

    async def _bytes(self, message: InboundMessage, attachment: Attachment) -> bytes:
        """The attachment's bytes within its limit; MediaTooLarge or MediaUnavailable otherwise."""
        limit = self.limits.limit(attachment.kind)
        if attachment.size is not None and attachment.size > limit:
            raise media.MediaTooLarge(attachment.kind, limit, attachment.size)
        url = attachment.url or ""
        if url.startswith("data:"):
            inline = media.decode_data_url(url)
            if inline is None:
                raise media.MediaUnavailable(attachment.kind, "malformed data URL")
            data = inline[1]
        elif self.fetch is None:
            raise media.MediaUnavailable(attachment.kind, "no source")
        else:
            try:
                data = await self.fetch(message, attachment, limit)
            except media.MediaError:
                raise
            except Exception as exc:  # an adapter's bug is this message's failure, not the engine's
                raise media.MediaUnavailable(attachment.kind, type(exc).__name__) from None
        if len(data) > limit:  # a source that did not stop at the limit
            raise media.MediaTooLarge(attachment.kind, limit, len(data))
        if not data:
            raise media.MediaUnavailable(attachment.kind, "empty")
        return data

    async def _transcribe(self, message: InboundMessage, attachment: Attachment) -> str:
        data = await self._bytes(message, attachment)
        mime = attachment.mime_type
        if attachment.url and attachment.url.startswith("data:"):
            mime = (media.split_data_url(attachment.url) or (mime, ""))[0]
        try:
            return await self.model.transcribe(data, mime)
        except Exception as exc:  # every stt route failed: the user is told, the engine goes on
            log.warning(
                "transcription failed", extra={"event_id": message.event_id, "error": type(exc).__name__}
            )
            raise _NotHeard from None

    def _refused(self, message: InboundMessage, exc: media.MediaError) -> Refusal:
        cause = exc.cause if isinstance(exc, media.MediaUnavailable) else "too large"
        log.info("media refused", extra={"event_id": message.event_id, "kind": exc.kind, "cause": cause})
        return Refusal(exc.reason, "media_refused" if isinstance(exc, media.MediaTooLarge) else "error")
