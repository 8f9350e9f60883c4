"""POSTs a reply to the caller's callback URL."""

import httpx

from parley_runtime.platforms.common.http import post_json

__all__ = ["post_reply"]


async def post_reply(
    http: httpx.AsyncClient, url: str, payload: dict[str, object], *, timeout_seconds: float
) -> None:
    """Raises RetryableSendError on 429/5xx/transport failures and PermanentSendError on other 4xx."""
    await post_json("http", http, url, payload, timeout=timeout_seconds)
