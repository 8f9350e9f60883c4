"""An `httpx` transport that sends requests through aiohttp: the seam stays `httpx.AsyncClient`.

Why: measured in bench/router.py, httpx's own connection pool costs 0.5-1 ms of client CPU per
LLM call on our 2-core machines, several times more than everything the router does; the same
calls through this transport cost about 0.4 ms, and 0.1 ms through `SharedClient.direct`, which
skips httpx's Request and Response objects for the providers' whole-answer POSTs. The app builds
its one client as `SharedClient()` and nothing else changes: timeouts, errors and streaming keep
httpx's types, so every component (and `httpx.MockTransport` in tests) still works.
"""

import functools
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple

import aiohttp
import httpx

__all__ = ["AiohttpTransport", "DirectAnswer", "SharedClient", "client_timeout"]

# What the direct path asks for and can undo itself (aiohttp's own decompression is off, see below).
_ACCEPTED_ENCODINGS = "gzip, deflate"


@functools.lru_cache(maxsize=64)  # a route's timeouts are the same on every call
def client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """httpx's connect/read timeouts as aiohttp's; the caller bounds the whole call itself."""
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    t = request.extensions.get("timeout") or {}
    return client_timeout(t.get("connect"), t.get("read"))


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # some servers send raw deflate without the zlib header
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


class DirectAnswer(NamedTuple):
    """A whole answer read straight from aiohttp: no httpx Response, headers or byte streams."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _mapped(exc: BaseException, request: httpx.Request | None) -> httpx.TransportError:
    """aiohttp's failures as the httpx exceptions callers already handle."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timeout", request=request)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timeout", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, self._request) from None

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (created on first use, inside the running loop) behind httpx's API."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            # httpx decodes Content-Encoding itself, so aiohttp must hand over the raw bytes.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            response = await self._client().request(
                request.method,
                str(request.url),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(request),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, request) from None
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        return httpx.Response(
            response.status, headers=headers, stream=_Body(response, request), request=request
        )

    async def post_direct(
        self, url: str, body: bytes, headers: Mapping[str, str], timeouts: aiohttp.ClientTimeout
    ) -> DirectAnswer:
        """POST `body` and read the whole answer, failures raised as httpx's transport errors.

        The LLM call of every message goes this way: building httpx's Request and Response objects
        around aiohttp's cost more CPU than the call itself (docs/benchmarks.md, "parley serve").
        """
        try:
            async with self._client().post(
                url,
                data=body,
                headers={**headers, "accept-encoding": _ACCEPTED_ENCODINGS},
                allow_redirects=False,
                timeout=timeouts,
            ) as response:
                raw = await response.read()
                answer_headers = response.headers
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, None) from None
        try:
            return DirectAnswer(status, answer_headers, _decoded(raw, answer_headers.get("content-encoding")))
        except zlib.error:
            raise httpx.DecodingError("undecodable compressed answer") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class SharedClient(httpx.AsyncClient):
    """The process's one `httpx.AsyncClient`, over an `AiohttpTransport` that JSON calls may use directly.

    Everything keeps httpx's API; the LLM providers' whole-answer POSTs take `direct.post_direct`.
    """

    def __init__(self, *, max_connections: int = 100, **kwargs: Any) -> None:
        self.direct = AiohttpTransport(max_connections=max_connections)
        super().__init__(transport=self.direct, **kwargs)
