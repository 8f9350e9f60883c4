"""Images and voice inside a JSON request (pure): the chat API and the generic HTTP platform share it.

    "images": [{"data": "<base64>", "mime_type": "image/png"}, {"url": "https://…/cat.jpg"}],
    "audio": {"data": "<base64>", "mime_type": "audio/ogg"}

Inline bytes are checked when the request is parsed (valid base64, an image's type known from
`mime_type` or from its first bytes) and become `data:` URLs; a URL is kept as it is and fetched later
by the engine, within the bot's limits. `data` may also be a whole `data:<mime>;base64,…` URL, which
is what a browser's FileReader hands a web page.
"""

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from parley_runtime.config.models import Media
from parley_runtime.core import media
from parley_runtime.core.messages import Attachment, MediaKind

# One picture or voice note of a reply as JSON: {"kind", "mime_type", "data": base64} (or "url").
ReplyAttachment = dict[str, str]

__all__ = [
    "MAX_IMAGES",
    "AudioIn",
    "ImageIn",
    "attachments",
    "largest_inline_bytes",
    "oversized",
    "reply_attachments",
]

MAX_IMAGES = 8
_MIME = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("media", message)


def _decode(data: str) -> tuple[str | None, bytes]:
    """(MIME type a data URL names, bytes) of inline media; a readable error when it is not base64."""
    mime: str | None = None
    if data.startswith("data:"):
        split = media.split_data_url(data)
        if split is None:
            raise _problem("data is a data: URL without ';base64,'")
        mime, data = split
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _problem("data is not valid base64") from None
    if not decoded:
        raise _problem("data is empty")
    return mime, decoded


class _Inline(BaseModel):
    """Media given as base64; the decoded bytes are kept so they are decoded once."""

    model_config = ConfigDict(extra="forbid")

    data: Annotated[str | None, Field(repr=False)] = None  # never the bytes in a log line
    mime_type: Annotated[str, Field(pattern=_MIME)] | None = None
    _bytes: bytes | None = PrivateAttr(default=None)

    @property
    def size(self) -> int | None:
        return None if self._bytes is None else len(self._bytes)

    def _load(self) -> None:
        if self.data is None:
            return
        named, self._bytes = _decode(self.data)
        if self.mime_type is None:
            self.mime_type = named

    def attachment(self, kind: MediaKind) -> Attachment:
        assert self._bytes is not None and self.mime_type is not None  # set when it was parsed
        mime = self.mime_type.lower()
        return Attachment(
            kind=kind, mime_type=mime, size=len(self._bytes), url=media.data_url(self._bytes, mime)
        )


class ImageIn(_Inline):
    url: Annotated[str, Field(min_length=1, max_length=4096)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.data is None) == (self.url is None):
            raise _problem("give exactly one of data (base64) and url")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise _problem("url must be an http:// or https:// URL")
        self._load()
        if self._bytes is not None and self.mime_type is None:
            self.mime_type = media.sniff_image(self._bytes)
            if self.mime_type is None:
                raise _problem("data is not a PNG, JPEG, GIF or WebP image; name its type in mime_type")
        if self.mime_type is not None and not self.mime_type.lower().startswith("image/"):
            raise _problem("mime_type of an image must be image/…")
        return self

    def to_attachment(self) -> Attachment:
        if self.url is not None:
            return Attachment(
                kind="image", mime_type=self.mime_type or media.guess_mime(self.url), url=self.url
            )
        return self.attachment("image")


class AudioIn(_Inline):
    data: Annotated[str, Field(repr=False)]  # required: voice comes inline

    @model_validator(mode="after")
    def _typed(self) -> Self:
        self._load()
        if self.mime_type is None:
            raise _problem("mime_type is required (audio/ogg, audio/mpeg, audio/wav…)")
        return self


Images = Annotated[list[ImageIn], Field(max_length=MAX_IMAGES)]


def attachments(images: list[ImageIn] | None, audio: AudioIn | None) -> tuple[Attachment, ...]:
    found = [image.to_attachment() for image in images or ()]
    if audio is not None:
        found.append(audio.attachment("audio"))
    return tuple(found)


def _trim(number: str) -> str:
    """`10.0` reads `10`, `11.20` reads `11.2`."""
    return number.rstrip("0").rstrip(".")


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in the limit's unit, precise enough that they never look equal ("11.2 MiB", "10 MiB")."""
    unit, scale = next((u, n) for u, n in (("MiB", 1 << 20), ("KiB", 1 << 10), ("bytes", 1)) if limit >= n)
    if scale > 1:
        for digits in (1, 2, 3):
            shown, cap = f"{size / scale:.{digits}f}", f"{limit / scale:.{digits}f}"
            if shown != cap:
                return f"{_trim(shown)} {unit}", f"{_trim(cap)} {unit}"
    return f"{size} bytes", f"{limit} bytes"


def oversized(images: list[ImageIn] | None, audio: AudioIn | None, limits: Media) -> str | None:
    """The first inline media over the bot's limit, said in one line ("image 2 is 11.2 MiB; the limit
    is 10 MiB"), or None. URLs are checked by the engine when it fetches them."""
    for number, image in enumerate(images or (), start=1):
        if image.size is not None and image.size > limits.max_image_bytes:
            size, limit = _sizes(image.size, limits.max_image_bytes)
            return f"image {number} is {size}; the limit is {limit}"
    if audio is not None and audio.size is not None and audio.size > limits.max_audio_bytes:
        size, limit = _sizes(audio.size, limits.max_audio_bytes)
        return f"audio is {size}; the limit is {limit}"
    return None


def largest_inline_bytes(limits: Media) -> int:
    """The base64 length of the largest media a request may carry inline, to bound its body."""
    return -(-max(limits.max_image_bytes, limits.max_audio_bytes) // 3) * 4


def reply_attachments(found: Sequence[Attachment]) -> list[ReplyAttachment]:
    """A reply's media as the JSON answer carries it: base64 `data`, or the `url` when it is not inline."""
    out: list[ReplyAttachment] = []
    for attachment in found:
        split = media.split_data_url(attachment.url) if attachment.url else None
        item = {"kind": attachment.kind, "mime_type": split[0] if split else attachment.mime_type}
        if split is not None:
            item["data"] = split[1]
        elif attachment.url:
            item["url"] = attachment.url
        else:
            continue  # nothing a caller could fetch
        out.append(item)
    return out
