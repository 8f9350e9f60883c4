"""`chat.postMessage` with the bot token; Slack's `{"ok": false, "error": …}` answers mapped to errors."""

from typing import Any

import httpx

from parley_runtime.platforms.common.http import post_json, retry_after_seconds
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["DEFAULT_API_BASE", "post_message"]

DEFAULT_API_BASE = "https://slack.com/api"
PLATFORM = "slack"
_RETRYABLE = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


async def post_message(
    http: httpx.AsyncClient, api_base: str | None, token: str, payload: dict[str, Any]
) -> None:
    url = f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/chat.postMessage"
    response = await post_json(PLATFORM, http, url, payload, headers={"authorization": f"Bearer {token}"})
    try:
        data = response.json()
    except ValueError:
        raise RetryableSendError(PLATFORM, "chat.postMessage answered with a non-JSON body") from None
    if isinstance(data, dict) and data.get("ok") is True:
        return
    error = str(data.get("error", "unknown_error")) if isinstance(data, dict) else "unknown_error"
    if error in _RETRYABLE:
        raise RetryableSendError(
            PLATFORM, f"chat.postMessage: {error}", retry_after=retry_after_seconds(response)
        )
    raise PermanentSendError(PLATFORM, f"chat.postMessage: {error}")
