"""Slack Web API calls with the bot token; Slack's `{"ok": false, "error": …}` answers mapped to errors.

`chat.postMessage` sends text; `auth.test` says who the bot is; files go out through the upload flow
(`files.getUploadURLExternal`, POST the bytes to the URL it returns, `files.completeUploadExternal`).
The upload URL is a credential of its own, so errors never name it.
"""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.common.http import post_json, request, request_ok, retry_after_seconds
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = [
    "DEFAULT_API_BASE",
    "UploadTarget",
    "auth_test",
    "complete_upload",
    "get_upload_url",
    "post_message",
    "upload_bytes",
]

DEFAULT_API_BASE = "https://slack.com/api"
PLATFORM = "slack"
AUTH_TEST_TIMEOUT = 2.0
_RETRYABLE = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


@dataclass(frozen=True)
class UploadTarget:
    """Where `files.getUploadURLExternal` said to send a file's bytes."""

    upload_url: str = ""
    file_id: str = ""

    def __repr__(self) -> str:
        return f"UploadTarget(file_id={self.file_id!r})"  # the URL lets anyone upload: never logged


def _url(api_base: str | None, method: str) -> str:
    return f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/{method}"


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _verdict(method: str, response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON when `ok`; otherwise the error to raise, retryable where Slack means "later"."""
    try:
        data = response.json()
    except ValueError:
        raise RetryableSendError(PLATFORM, f"{method} answered with a non-JSON body") from None
    if isinstance(data, dict) and data.get("ok") is True:
        return data
    error = str(data.get("error", "unknown_error")) if isinstance(data, dict) else "unknown_error"
    if error in _RETRYABLE:
        raise RetryableSendError(PLATFORM, f"{method}: {error}", retry_after=retry_after_seconds(response))
    raise PermanentSendError(PLATFORM, f"{method}: {error}")


async def _form_call(
    http: httpx.AsyncClient, api_base: str | None, token: str, method: str, form: dict[str, str]
) -> dict[str, Any]:
    """A form-encoded call: the encoding every Web API method takes (`files.getUploadURLExternal`
    takes no JSON in every version of its docs)."""
    response = await request_ok(
        PLATFORM, http, "POST", _url(api_base, method), data=form, headers=_auth(token)
    )
    return _verdict(method, response)


async def post_message(
    http: httpx.AsyncClient, api_base: str | None, token: str, payload: dict[str, Any]
) -> None:
    url = _url(api_base, "chat.postMessage")
    response = await post_json(PLATFORM, http, url, payload, headers=_auth(token))
    _verdict("chat.postMessage", response)


async def auth_test(http: httpx.AsyncClient, api_base: str | None, token: str) -> str:
    """The bot's own user id (asked while Slack waits 3 s for the acknowledgement, hence the short
    timeout)."""
    url = _url(api_base, "auth.test")
    response = await post_json(PLATFORM, http, url, {}, headers=_auth(token), timeout=AUTH_TEST_TIMEOUT)
    user_id = _verdict("auth.test", response).get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise PermanentSendError(PLATFORM, "auth.test: no user_id")
    return user_id


async def get_upload_url(
    http: httpx.AsyncClient, api_base: str | None, token: str, filename: str, length: int
) -> UploadTarget:
    data = await _form_call(
        http, api_base, token, "files.getUploadURLExternal", {"filename": filename, "length": str(length)}
    )
    upload_url, file_id = data.get("upload_url"), data.get("file_id")
    if not isinstance(upload_url, str) or not isinstance(file_id, str):
        raise PermanentSendError(PLATFORM, "files.getUploadURLExternal: no upload_url/file_id")
    return UploadTarget(upload_url=upload_url, file_id=file_id)


async def upload_bytes(http: httpx.AsyncClient, target: UploadTarget, data: bytes, mime_type: str) -> None:
    """The raw bytes to the upload URL (which authorises the upload itself: no token goes there)."""
    response = await request(
        PLATFORM, http, "POST", target.upload_url, content=data, headers={"content-type": mime_type}
    )
    if response.is_success:
        return
    what = f"file upload: HTTP {response.status_code}"  # not `error_for_status`: it names the URL's path
    if retry.is_retryable_status(response.status_code):
        raise RetryableSendError(PLATFORM, what, retry_after=retry_after_seconds(response))
    raise PermanentSendError(PLATFORM, what)


async def complete_upload(
    http: httpx.AsyncClient,
    api_base: str | None,
    token: str,
    target: UploadTarget,
    *,
    title: str,
    channel: str,
    thread_ts: str | None,
) -> None:
    """Shares the uploaded file in `channel` (inside the thread `thread_ts` when given)."""
    form = {"files": json.dumps([{"id": target.file_id, "title": title}]), "channel_id": channel}
    if thread_ts is not None:
        form["thread_ts"] = thread_ts
    await _form_call(http, api_base, token, "files.completeUploadExternal", form)
