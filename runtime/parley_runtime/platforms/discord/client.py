"""Interaction follow-ups: edit the deferred `@original` response, then POST further messages; a file
goes along as multipart/form-data (`payload_json` + `files[0]`, Discord's "Uploading Files"). Messages
nobody asked for go to a channel with the bot token (`POST /channels/{id}/messages`).

The follow-up URLs contain the interaction token, so errors name only the operation and the status,
and transport exceptions are re-raised without their cause chain.
"""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.common.http import retry_after_seconds
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["DEFAULT_API_BASE", "Upload", "post_to_channel", "send"]

DEFAULT_API_BASE = "https://discord.com/api/v10"
PLATFORM = "discord"
NO_MENTIONS: dict[str, list[str]] = {"parse": []}  # a model's "@everyone" must not ping a whole server


@dataclass(frozen=True)
class Upload:
    """A file to attach to a message."""

    filename: str
    data: bytes
    mime_type: str

    def __repr__(self) -> str:  # never the bytes
        return f"Upload(filename={self.filename!r}, mime_type={self.mime_type!r}, size={len(self.data)})"


def _body(content: str, upload: Upload | None) -> dict[str, Any]:
    """The request's keyword arguments: JSON, or with a file the same payload as `payload_json`."""
    payload: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if content or upload is None:
        payload["content"] = content
    if upload is None:
        return {"json": payload}
    payload["attachments"] = [{"id": 0, "filename": upload.filename}]
    return {
        "data": {"payload_json": json.dumps(payload)},
        "files": {"files[0]": (upload.filename, upload.data, upload.mime_type)},
    }


def _retry_after(response: httpx.Response) -> float | None:
    retry_after = retry_after_seconds(response)
    if retry_after is None and response.status_code == 429:
        try:
            body = response.json()
            value = body.get("retry_after") if isinstance(body, dict) else None
            retry_after = float(value) if isinstance(value, (int, float)) else None
        except ValueError:
            retry_after = None
    return retry_after


async def _request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    what: str,
    content: str,
    upload: Upload | None,
    headers: dict[str, str] | None = None,
) -> None:
    try:
        response = await http.request(method, url, headers=headers, **_body(content, upload))
    except httpx.TimeoutException:
        raise RetryableSendError(PLATFORM, f"{what} timed out") from None
    except httpx.TransportError as exc:
        raise RetryableSendError(PLATFORM, f"{what}: connection error {type(exc).__name__}") from None
    if response.is_success:
        return
    status = response.status_code
    if retry.is_retryable_status(status):
        raise RetryableSendError(PLATFORM, f"{what}: HTTP {status}", retry_after=_retry_after(response))
    # 404 "Unknown Webhook" here usually means the 15-minute interaction token expired.
    raise PermanentSendError(PLATFORM, f"{what}: HTTP {status}")


def _base(api_base: str | None) -> str:
    return (api_base or DEFAULT_API_BASE).rstrip("/")


def _webhook(api_base: str | None, application_id: str, token: str) -> str:
    return f"{_base(api_base)}/webhooks/{application_id}/{token}"


async def send(
    http: httpx.AsyncClient,
    api_base: str | None,
    application_id: str,
    token: str,
    content: str,
    upload: Upload | None = None,
    *,
    original: bool,
) -> None:
    """One message of the answer: `original` edits the deferred `@original` response, otherwise a
    follow-up message is posted."""
    url = _webhook(api_base, application_id, token)
    if original:
        await _request(http, "PATCH", f"{url}/messages/@original", "edit original", content, upload)
    else:
        await _request(http, "POST", url, "follow-up", content, upload)


async def post_to_channel(
    http: httpx.AsyncClient, api_base: str | None, bot_token: str, channel_id: str, content: str
) -> None:
    """One text message in channel `channel_id` (a snowflake), sent as the bot."""
    url = f"{_base(api_base)}/channels/{channel_id}/messages"
    headers = {"authorization": f"Bot {bot_token}"}
    await _request(http, "POST", url, "channel message", content, None, headers)
