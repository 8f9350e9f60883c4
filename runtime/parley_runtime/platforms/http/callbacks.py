"""Which callback URL a reply goes to (pure).

A caller-supplied `callback_url` would let anyone who can reach the gateway make it POST to arbitrary
hosts (SSRF), so it is honoured only under an allow-listed prefix. Both sides are normalised before
they are compared, and the reply goes to the normalised URL, so what was checked is what is called:

- `\\` is a `/` (as browsers and WHATWG parsers read it), `%2e`/`%2f`/`%5c` are decoded, and dot
  segments are resolved (RFC 3986 §5.2.4), so `/cb/../evil` and `/cb/%2e%2e/evil` are `/evil`;
  double-encoded dots and slashes (`%252e`), overlong UTF-8 (`%c0%ae`) and `..;` segments (read as
  `..` by some servers) are refused rather than guessed at; the URL called has no dot segment left;
- user info (`user@host`) is refused: it is how a URL hides its real host;
- the scheme and host are lower-cased, the host is IDNA-encoded (the POST goes to that ASCII name)
  without its trailing dot, and the port is the effective one (80/443 when absent);
- the path must lie under the prefix path on a segment boundary (`/cb/` allows `/cb` and `/cb/x`,
  never `/cbx`), and scheme, host and port must be equal: `https://a.example` does not allow
  `https://a.example.evil.test`.
"""

import functools
import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

__all__ = ["allowed_url", "choose_callback", "is_allowed", "normalise"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
# Read as a dot, slash or backslash by servers that decode twice or accept overlong UTF-8; or a NUL.
_AMBIGUOUS = re.compile(r"%25(2e|2f|5c)|%c0|%c1|%00", re.IGNORECASE)
_DECODED = {"2e": ".", "2f": "/", "5c": "/"}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class _Parts(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str
    url: str


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path: `/a/b/../c` → `/a/c`, `/a/..` → `/`, `/..` → `/`."""
    segments = path[1:].split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


def _host(hostname: str) -> str | None:
    """The ASCII host the request would be sent to, or None when it is not a plain name or address."""
    if "%" in hostname:  # an encoded name or an IPv6 zone: not something an allow-list names
        return None
    if ":" in hostname:  # urlsplit took it from brackets: only an IPv6 address is allowed there
        try:
            return str(ipaddress.IPv6Address(hostname))
        except ValueError:
            return None
    name = hostname[:-1] if hostname.endswith(".") else hostname
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if not all(_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        return None
    return ascii_name


def _path(raw: str) -> str | None:
    if _AMBIGUOUS.search(raw):
        return None
    decoded = _ENCODED_SEPARATOR.sub(lambda m: _DECODED[m.group(1).lower()], raw)
    if not decoded.startswith("/"):
        decoded = "/" + decoded
    if any(";" in s and s.split(";", 1)[0] in (".", "..") for s in decoded.split("/")):
        return None
    return _remove_dot_segments(decoded)


def _parse(url: str) -> _Parts | None:
    if any(c <= " " or c == "\x7f" for c in url):  # urlsplit would silently drop tabs and newlines
        return None
    try:
        split = urlsplit(url.replace("\\", "/"))
        port = split.port
    except ValueError:
        return None
    scheme = split.scheme.lower()
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port is None or "@" in split.netloc or not split.hostname:
        return None
    host = _host(split.hostname)
    path = _path(split.path)
    if host is None or path is None:
        return None
    port = default_port if port is None else port
    netloc = f"[{host}]" if ":" in host else host
    if port != default_port:
        netloc = f"{netloc}:{port}"
    query = f"?{split.query}" if split.query else ""
    return _Parts(scheme, host, port, path, f"{scheme}://{netloc}{path}{query}")


@functools.lru_cache(maxsize=256)  # the allow-list of a binding is parsed once, not per message
def _prefix(prefix: str) -> _Parts | None:
    return _parse(prefix)


def _path_under(path: str, prefix: str) -> bool:
    if prefix == "/":
        return True
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def normalise(url: str) -> str | None:
    """The URL a callback would actually be POSTed to, or None when it is refused outright."""
    parts = _parse(url)
    return parts.url if parts is not None else None


def allowed_url(url: str, prefixes: Iterable[str]) -> str | None:
    """The normalised `url` when it lies under one of `prefixes`, else None."""
    target = _parse(url)
    if target is None:
        return None
    for prefix in prefixes:
        allowed = _prefix(prefix)
        if (
            allowed is not None
            and allowed.scheme == target.scheme
            and allowed.host == target.host
            and allowed.port == target.port
            and _path_under(target.path, allowed.path)
        ):
            return target.url
    return None


def is_allowed(url: str, prefixes: Iterable[str]) -> bool:
    return allowed_url(url, prefixes) is not None


def choose_callback(requested: str | None, configured: str | None, prefixes: Iterable[str]) -> str | None:
    """The caller's URL (normalised) when allow-listed, else the configured one; ValueError when refused."""
    if requested is None:
        return configured
    allowed = allowed_url(requested, prefixes)
    if allowed is None:
        raise ValueError("callback_url is not under an allowed prefix (settings.allowedCallbackPrefixes)")
    return allowed
