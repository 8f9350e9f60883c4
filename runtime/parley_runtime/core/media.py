"""Media inside messages (`data:` URLs) and what can go wrong with it, in words a user can be told."""

import base64
import mimetypes

from parley_runtime.core.messages import MediaKind

__all__ = [
    "MediaError",
    "MediaTooLarge",
    "MediaUnavailable",
    "data_url",
    "decode_data_url",
    "guess_mime",
    "human_size",
    "sniff_image",
    "split_data_url",
]

# The first bytes of the image types every vision model takes (WebP is checked apart: RIFF….WEBP).
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def data_url(data: bytes, mime_type: str) -> str:
    """The bytes as a `data:` URL, the one form media takes inside messages, sessions and replies."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def split_data_url(url: str) -> tuple[str, str] | None:
    """(mime type, base64 data) of a `data:<mime>;base64,<data>` URL; None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or "application/octet-stream", data


def decode_data_url(url: str) -> tuple[str, bytes] | None:
    """(mime type, bytes) of a base64 `data:` URL; None for any other URL or a malformed payload."""
    split = split_data_url(url)
    if split is None:
        return None
    try:
        return split[0], base64.b64decode(split[1], validate=True)
    except ValueError:
        return None


def guess_mime(url: str) -> str:
    """The image type a URL's extension suggests (JPEG when it says nothing)."""
    mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return mime if mime and mime.startswith("image/") else "image/jpeg"


def sniff_image(data: bytes) -> str | None:
    """The type of a PNG, JPEG, GIF or WebP image from its first bytes; None for anything else."""
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def human_size(size: int) -> str:
    """`25 MiB`, `512 KiB`, `900 bytes`: sizes as the short replies state them."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) or value >= 10 else f"{value:.1f} {unit}"
    return f"{size} bytes"


class MediaError(Exception):
    """A message's attachment cannot be used; the message says why without any of its bytes."""

    def __init__(self, kind: MediaKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class MediaTooLarge(MediaError):
    """Bigger than the bot's `spec.media` limit for its kind (known from the platform or while reading)."""

    def __init__(self, kind: MediaKind, limit: int, size: int | None = None) -> None:
        noun = {"image": "image", "audio": "voice message", "file": "file"}[kind]
        super().__init__(kind, f"That {noun} is too large: the limit is {human_size(limit)}.")
        self.limit = limit
        self.size = size


class MediaUnavailable(MediaError):
    """The platform would not hand the bytes over (expired, deleted, network, permissions)."""

    def __init__(self, kind: MediaKind, cause: str) -> None:
        noun = {"image": "image", "audio": "voice message", "file": "file"}[kind]
        super().__init__(kind, f"Sorry, I could not download that {noun}. Please send it again.")
        self.cause = cause  # short, for logs: a status code or an exception name, never a URL with a token
