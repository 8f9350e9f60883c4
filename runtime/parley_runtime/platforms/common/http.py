"""Maps outbound HTTP failures to retryable or permanent send errors."""

import time
from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError, SendError


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait `response`'s Retry-After header asks for, from now (`core.retry` reads the header)."""
    return retry.retry_after_header(response.headers, now=time.time())


def error_for_status(platform: str, response: httpx.Response) -> SendError | None:
    """None for 2xx; otherwise the error to raise (429/5xx retryable, other 4xx permanent)."""
    if response.is_success:
        return None
    # Host and last path segment only: some platforms put the bot token in the path or query.
    method = response.request.url.path.rsplit("/", 1)[-1]
    what = f"HTTP {response.status_code} from {response.request.url.host} ({method})"
    if retry.is_retryable_status(response.status_code):
        return RetryableSendError(platform, what, retry_after=retry_after_seconds(response))
    return PermanentSendError(platform, what)


async def request(
    platform: str, http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send one request; a timeout or a broken connection becomes a retryable error, the answer is
    returned whatever its status (some platforms put the verdict in the body of a 4xx)."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise RetryableSendError(platform, "timeout") from None
    except httpx.TransportError as exc:
        raise RetryableSendError(platform, f"connection error: {type(exc).__name__}") from None


async def request_ok(
    platform: str, http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """`request`, with a bad status raised by kind."""
    response = await request(platform, http, method, url, **kwargs)
    error = error_for_status(platform, response)
    if error is not None:
        raise error
    return response


async def post_json(
    platform: str, http: httpx.AsyncClient, url: str, payload: object, **kwargs: Any
) -> httpx.Response:
    """POST JSON; transport failures become retryable errors, bad statuses are raised by kind."""
    return await request_ok(platform, http, "POST", url, json=payload, **kwargs)
