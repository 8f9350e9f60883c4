"""Image references as providers need them: a `data:` URL splits into MIME type and base64 payload."""

import mimetypes

__all__ = ["guess_mime", "split_data_url"]


def split_data_url(url: str) -> tuple[str, str] | None:
    """(mime type, base64 data) of a `data:<mime>;base64,<data>` URL; None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or "application/octet-stream", data


def guess_mime(url: str) -> str:
    """The image type a URL's extension suggests (JPEG when it says nothing)."""
    mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return mime if mime and mime.startswith("image/") else "image/jpeg"
