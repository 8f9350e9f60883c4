"""`http-fetch`: tool `fetch_url` lets the model read a web page, from allow-listed hosts only.

A model can be talked into fetching anything, so every hop is checked before it is requested:
http/https only, no credentials in the URL, the host in `allowHosts`, and every address the host
resolves to public unless `allowPrivate` (no cloud metadata, no cluster-internal services).
Redirects are followed by hand so each target gets the same checks. The body is read up to
`maxBytes` and no further. (A DNS answer could still change between the check and the connection;
`allowHosts` is the primary control.)
"""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
from pydantic import AfterValidator, BaseModel, Field

from parley_runtime.config.models import Duration
from parley_runtime.core.durations import parse_duration
from parley_runtime.plugins.api import Plugin, PluginConfig, ToolContext, ToolError
from parley_runtime.plugins.builtin.html_text import html_to_text

Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_REDIRECTS = 5
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TEXTUAL = re.compile(r"^(text/|application/(json|xml|xhtml\+xml|[-.a-z0-9]+\+(json|xml))\b)")


def _host_pattern(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if not _HOST.fullmatch(host):
        raise ValueError(
            f"{value!r} is not a host name (write example.com or *.example.com, no scheme or port)"
        )
    return host


class HttpFetchConfig(PluginConfig):
    allow_hosts: Annotated[list[Annotated[str, AfterValidator(_host_pattern)]], Field(min_length=1)]
    allow_private: bool = False  # private, loopback and link-local addresses (tests, intranets)
    max_bytes: Annotated[int, Field(ge=256, le=10_000_000)] = 100_000
    timeout: Duration = "10s"
    user_agent: str = "Parley-http-fetch/1 (+https://parley.dev)"


class FetchArgs(BaseModel):
    url: str = Field(description="absolute http(s) URL of the page to read")


plugin = Plugin("http-fetch", config_model=HttpFetchConfig, description="Reads web pages from allowed hosts")


@plugin.tool(
    description="Fetch a web page and return its text (allow-listed hosts only).", parameters=FetchArgs
)
async def fetch_url(ctx: ToolContext[HttpFetchConfig], url: str) -> str:
    return await fetch_text(ctx.services.http, url, ctx.config, resolve=system_resolver)


def host_allowed(host: str, patterns: list[str]) -> bool:
    """Exact host, or `*.suffix` for any subdomain of suffix (not the bare suffix itself)."""
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def fetch_text(
    client: httpx.AsyncClient, url: str, config: HttpFetchConfig, *, resolve: Resolver
) -> str:
    """The text of the page at `url`; ToolError with a reason the model can act on otherwise."""
    seconds = parse_duration(config.timeout)
    try:
        async with asyncio.timeout(seconds):
            for _ in range(MAX_REDIRECTS + 1):
                target = await check_url(url, config, resolve)
                request = client.build_request(
                    "GET", target, headers={"User-Agent": config.user_agent}, timeout=seconds
                )
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    if not response.is_redirect:
                        return await _read(response, config.max_bytes)
                    url = str(target.join(response.headers.get("location", "")))
                finally:
                    await response.aclose()
    except TimeoutError:
        raise ToolError(f"timed out after {config.timeout}") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"could not fetch {url}: {type(exc).__name__}") from None
    raise ToolError(f"more than {MAX_REDIRECTS} redirects")


async def check_url(url: str, config: HttpFetchConfig, resolve: Resolver) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise ToolError(f"not a valid URL: {url!r}") from None
    if parsed.scheme not in ("http", "https"):
        raise ToolError(f"only http and https URLs can be fetched, not {url!r}")
    if parsed.userinfo:
        raise ToolError("URLs with credentials are refused")
    host = parsed.host.lower().rstrip(".")
    if not host:
        raise ToolError(f"not a valid URL: {url!r}")
    if not host_allowed(host, config.allow_hosts):
        raise ToolError(f"host {host} is not allowed for this bot (allowed: {', '.join(config.allow_hosts)})")
    if not config.allow_private:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
            except OSError:
                raise ToolError(f"cannot resolve host {host}") from None
        if not addresses or not all(is_public(a) for a in addresses):
            raise ToolError(f"host {host} has a private or local address; refused")
    return parsed


async def _read(response: httpx.Response, max_bytes: int) -> str:
    if response.status_code >= 400:
        raise ToolError(f"{response.url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    if not _TEXTUAL.match(content_type):
        raise ToolError(f"{response.url} is {content_type}, not text")
    body = bytearray()
    truncated = False
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            truncated = True
            del body[max_bytes:]
            break
    try:
        text = bytes(body).decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        text = bytes(body).decode("utf-8", errors="replace")
    if "html" in content_type:
        text = html_to_text(text)
    text = text.encode()[:max_bytes].decode(errors="ignore")
    note = f"\n[truncated at {max_bytes} bytes]" if truncated else ""
    return f"{response.url}\n\n{text}{note}"
