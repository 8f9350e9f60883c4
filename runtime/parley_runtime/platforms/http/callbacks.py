"""Which callback URL a reply goes to (pure).

A caller-supplied `callback_url` would let anyone who can reach the gateway make it POST to arbitrary
hosts (SSRF), so it is honoured only under an allow-listed prefix; prefixes are compared as parsed URLs
(scheme, host and port equal, path under the prefix path) so `https://a.example` does not also allow
`https://a.example.evil.test`.
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["choose_callback", "is_allowed"]


def _path_under(path: str, prefix: str) -> bool:
    if not prefix or prefix == "/":
        return True
    return path == prefix.rstrip("/") or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def is_allowed(url: str, prefixes: Iterable[str]) -> bool:
    try:
        target = urlsplit(url)
        port = target.port
    except ValueError:
        return False
    if target.scheme not in ("http", "https") or not target.hostname or target.username or target.password:
        return False
    for prefix in prefixes:
        try:
            allowed = urlsplit(prefix)
            allowed_port = allowed.port
        except ValueError:
            continue
        if (
            allowed.scheme == target.scheme
            and allowed.hostname == target.hostname
            and allowed_port == port
            and _path_under(target.path, allowed.path)
        ):
            return True
    return False


def choose_callback(requested: str | None, configured: str | None, prefixes: Iterable[str]) -> str | None:
    """The caller's URL when allow-listed, else the configured one; raises ValueError when refused."""
    if requested is None:
        return configured
    if is_allowed(requested, prefixes):
        return requested
    raise ValueError("callback_url is not under an allowed prefix (settings.allowedCallbackPrefixes)")
