"""Downloading an inbound attachment with a hard cap on its size (I/O at the edge, one place).

Every adapter's `fetch_media` ends here once it knows the URL (and headers) its platform serves the
bytes at: the declared Content-Length is checked before reading, the body is counted while reading,
and nothing of it reaches a log line or an exception.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from parley_runtime.core.media import MediaTooLarge, MediaUnavailable
from parley_runtime.core.messages import Attachment

__all__ = ["check_declared_size", "download", "download_from_url", "ensure_public"]

_CHUNK = 64 * 1024


async def ensure_public(attachment: Attachment, url: str) -> None:
    """Refuse a URL whose host is, or resolves to, an address that is not globally routable: a caller
    naming a picture by URL must not make the bot fetch from inside its own network (loopback, RFC 1918,
    link-local cloud metadata endpoints, …). Every address the name resolves to must be public."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise MediaUnavailable(attachment.kind, "unresolvable host") from None
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not addresses or not all(address.is_global for address in addresses):
        raise MediaUnavailable(attachment.kind, "non-public address")


def check_declared_size(attachment: Attachment, max_bytes: int) -> None:
    """Refuse before any download when the platform already said the attachment is too large."""
    if attachment.size is not None and attachment.size > max_bytes:
        raise MediaTooLarge(attachment.kind, max_bytes, attachment.size)


async def download(
    http: httpx.AsyncClient,
    attachment: Attachment,
    url: str,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> bytes:
    """The body at `url`, at most `max_bytes` of it; MediaTooLarge past that, MediaUnavailable when the
    platform does not answer 2xx or the connection fails."""
    check_declared_size(attachment, max_bytes)
    try:
        async with http.stream("GET", url, headers=headers, params=params) as response:
            if not response.is_success:
                raise MediaUnavailable(attachment.kind, f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MediaTooLarge(attachment.kind, max_bytes, int(declared))
            body = bytearray()
            async for chunk in response.aiter_bytes(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise MediaTooLarge(attachment.kind, max_bytes)
            return bytes(body)
    except httpx.HTTPError as exc:
        raise MediaUnavailable(attachment.kind, type(exc).__name__) from None


async def download_from_url(http: httpx.AsyncClient, attachment: Attachment, *, max_bytes: int) -> bytes:
    """`download` of the attachment's own http(s) URL with no credentials: what a platform that serves
    media from signed CDN URLs (Discord, QQ) or a plain file server (OneBot) hands over."""
    url = attachment.url or ""
    if not url.startswith(("http://", "https://")):
        raise MediaUnavailable(attachment.kind, "no attachment URL")
    return await download(http, attachment, url, max_bytes=max_bytes)
