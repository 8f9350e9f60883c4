"""Interaction follow-ups: edit the deferred `@original` response, then POST further chunks.

Both URLs contain the interaction token, so errors name only the operation and the status, and
transport exceptions are re-raised without their cause chain.
"""

from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.common.http import retry_after_seconds
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["DEFAULT_API_BASE", "edit_original", "follow_up"]

DEFAULT_API_BASE = "https://discord.com/api/v10"
PLATFORM = "discord"
NO_MENTIONS: dict[str, list[str]] = {"parse": []}  # a model's "@everyone" must not ping a whole server


async def _request(
    http: httpx.AsyncClient, method: str, url: str, payload: dict[str, Any], what: str
) -> None:
    try:
        response = await http.request(method, url, json=payload)
    except httpx.TimeoutException:
        raise RetryableSendError(PLATFORM, f"{what} timed out") from None
    except httpx.TransportError as exc:
        raise RetryableSendError(PLATFORM, f"{what}: connection error {type(exc).__name__}") from None
    if response.is_success:
        return
    status = response.status_code
    if retry.is_retryable_status(status):
        retry_after = retry_after_seconds(response)
        if retry_after is None and status == 429:
            try:
                body = response.json()
                value = body.get("retry_after") if isinstance(body, dict) else None
                retry_after = float(value) if isinstance(value, (int, float)) else None
            except ValueError:
                retry_after = None
        raise RetryableSendError(PLATFORM, f"{what}: HTTP {status}", retry_after=retry_after)
    # 404 "Unknown Webhook" here usually means the 15-minute interaction token expired.
    raise PermanentSendError(PLATFORM, f"{what}: HTTP {status}")


def _webhook(api_base: str | None, application_id: str, token: str) -> str:
    return f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/webhooks/{application_id}/{token}"


async def edit_original(
    http: httpx.AsyncClient, api_base: str | None, application_id: str, token: str, content: str
) -> None:
    url = _webhook(api_base, application_id, token) + "/messages/@original"
    await _request(http, "PATCH", url, {"content": content, "allowed_mentions": NO_MENTIONS}, "edit original")


async def follow_up(
    http: httpx.AsyncClient, api_base: str | None, application_id: str, token: str, content: str
) -> None:
    url = _webhook(api_base, application_id, token)
    await _request(http, "POST", url, {"content": content, "allowed_mentions": NO_MENTIONS}, "follow-up")
