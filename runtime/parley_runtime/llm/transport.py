"""The HTTP seam every provider shares: POST JSON or a multipart upload, open an SSE stream, map
failures to our errors. Every call goes through one route's `RouteHttp`.

Failures become `RetryableError`/`FatalError` with a message built from the status, the host and
the provider's own error text, with the API key scrubbed from that text (some providers echo it).
"""

import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from parley_runtime.core import retry
from parley_runtime.llm import aiohttp_transport, errors

__all__ = [
    "RouteHttp",
    "error_for_response",
    "open_stream",
    "parse_event_json",
    "post_json",
    "post_multipart",
    "scrub",
    "sse_events",
]

_DETAIL_LIMIT = 200


@dataclass(frozen=True)
class RouteHttp:
    """How one route reaches its provider: the shared client, the headers (the only place the key
    travels), the timeouts, and the key to scrub from error text."""

    route: str
    http: httpx.AsyncClient = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    timeouts: httpx.Timeout = field(repr=False)
    secret: str | None = field(repr=False)


def scrub(text: str, secret: str | None) -> str:
    """`text` without `secret` in it, cut to a readable length."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:_DETAIL_LIMIT]


def _provider_detail(body: bytes) -> str:
    """The `error.message` (or `error` string) of a provider's JSON error body, if any."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, list) and data:  # Gemini wraps some errors in a list
        data = data[0]
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or "")
    return str(err or data.get("message") or "")


def error_for_response(
    route: str, response: httpx.Response, body: bytes, secret: str | None
) -> errors.ProviderError:
    """The error for a non-2xx answer: 429 and 5xx are retryable, other statuses fatal."""
    return _error_for_status(
        route, response.status_code, response.request.url.host, response.headers, body, secret
    )


def _error_for_status(
    route: str, status: int, host: str, headers: Mapping[str, str], body: bytes, secret: str | None
) -> errors.ProviderError:
    detail = scrub(_provider_detail(body), secret)
    message = f"HTTP {status} from {host}" + (f": {detail}" if detail else "")
    if retry.is_retryable_status(status):
        retry_after = retry.retry_after_header(headers, now=time.time())
        return errors.RetryableError(route, message, status=status, retry_after=retry_after)
    return errors.FatalError(route, message, status=status)


def _transport_error(via: RouteHttp, exc: httpx.HTTPError) -> errors.RetryableError:
    if isinstance(exc, httpx.TimeoutException):
        timeout = via.timeouts.read or 0.0
        return errors.ProviderTimeout(via.route, f"timed out after {timeout:g}s ({type(exc).__name__})")
    return errors.RetryableError(via.route, f"connection error ({type(exc).__name__})")


def _json_answer(via: RouteHttp, url: str, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """The decoded JSON of a 2xx answer; the mapped error of any other."""
    if status >= 300:
        raise _error_for_status(via.route, status, urlsplit(url).hostname or "", headers, body, via.secret)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.FatalError(via.route, "response is not JSON") from None


def _request(
    url: str, payload: Mapping[str, Any], headers: Mapping[str, str], timeouts: httpx.Timeout
) -> httpx.Request:
    """A JSON POST built directly: merging the client's defaults (base URL, default headers, cookies)
    in `AsyncClient.build_request` cost more CPU than the rest of the call, and provider URLs are
    absolute (docs/benchmarks.md, "parley serve")."""
    return httpx.Request(
        "POST",
        url,
        headers={**headers, "content-type": "application/json"},
        content=orjson.dumps(payload),
        extensions={"timeout": timeouts.as_dict()},
    )


async def post_json(via: RouteHttp, url: str, payload: Mapping[str, Any]) -> Any:
    """POST `payload` and return the decoded JSON answer."""
    try:
        # `parley serve` and the engines: straight through aiohttp, the same call at a third of the CPU
        if isinstance(via.http, aiohttp_transport.SharedClient):
            status, answer_headers, body = await via.http.direct.post_direct(
                url,
                orjson.dumps(payload),
                {**via.headers, "content-type": "application/json"},
                aiohttp_transport.client_timeout(via.timeouts.connect, via.timeouts.read),
            )
        else:
            response = await via.http.send(_request(url, payload, via.headers, via.timeouts))
            status, answer_headers, body = response.status_code, response.headers, response.content
    except httpx.HTTPError as exc:
        raise _transport_error(via, exc) from None
    return _json_answer(via, url, status, answer_headers, body)


async def post_multipart(
    via: RouteHttp, url: str, fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]
) -> Any:
    """POST `fields` and `files` (part name → (file name, bytes, type)) as `multipart/form-data` and
    return the decoded JSON answer."""
    request = via.http.build_request(
        "POST", url, headers=via.headers, data=dict(fields), files=dict(files), timeout=via.timeouts
    )
    try:
        response = await via.http.send(request)
    except httpx.HTTPError as exc:
        raise _transport_error(via, exc) from None
    return _json_answer(via, url, response.status_code, response.headers, response.content)


@contextlib.asynccontextmanager
async def open_stream(via: RouteHttp, url: str, payload: Mapping[str, Any]) -> AsyncIterator[httpx.Response]:
    """A streaming POST whose status was checked; transport failures while reading are mapped too."""
    request = _request(url, payload, via.headers, via.timeouts)
    try:
        response = await via.http.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise _transport_error(via, exc) from None
    try:
        if response.status_code >= 300:
            try:
                body = await response.aread()
            except httpx.HTTPError:
                body = b""
            raise error_for_response(via.route, response, body, via.secret)
        try:
            yield response
        except httpx.HTTPError as exc:
            raise _transport_error(via, exc) from None
    finally:
        await response.aclose()


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per Server-Sent Event; `event` is "" when the server named none."""
    event = ""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "", []
        elif line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif line.startswith("event:"):
            event = line[6:].strip()
        # other fields (id:, retry:) and comments (":") carry nothing we use
    if data:
        yield event, "\n".join(data)


def parse_event_json(route: str, data: str) -> dict[str, Any]:
    """One event's JSON object, or a FatalError naming the route."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise errors.FatalError(route, "stream event is not JSON") from None
    if not isinstance(value, dict):
        raise errors.FatalError(route, "stream event is not a JSON object")
    return value
