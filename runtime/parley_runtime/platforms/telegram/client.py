"""Bot API calls (`sendMessage`, `sendPhoto`/`sendVoice`/`sendAudio`/`sendDocument` uploads, `getMe`,
`getFile`, `getUpdates`, `deleteWebhook`) with Telegram's error answers mapped.

The token is in every URL (`/bot<token>/<method>`, `/file/bot<token>/<path>`), so errors name only the
method and Telegram's description, and transport exceptions are re-raised without their cause chain.
"""

from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.common.http import retry_after_seconds
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["DEFAULT_API_BASE", "TelegramApi", "TelegramApiError", "Upload"]

DEFAULT_API_BASE = "https://api.telegram.org"
PLATFORM = "telegram"
IDENTITY_TIMEOUT_SECONDS = 5.0  # getMe may run while a webhook request waits for its answer
UPLOAD_TIMEOUT_SECONDS = 60.0  # a 10 MiB picture over a slow link

# (form field, file name, bytes, MIME type) of a multipart upload
Upload = tuple[str, str, bytes, str]


class TelegramApiError(PermanentSendError):
    """Telegram refused the call for good; `description` is Telegram's (token-free) explanation."""

    def __init__(self, method: str, status: int, description: str) -> None:
        super().__init__(PLATFORM, f"{method} failed: HTTP {status} {description}".rstrip())
        self.status = status
        self.description = description


def _form_value(value: Any) -> str:
    """A multipart field as Telegram reads it (booleans as JSON literals)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TelegramApi:
    def __init__(self, http: httpx.AsyncClient, token: str, api_base: str | None = None) -> None:
        self._http = http
        self._token = token
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")

    def __repr__(self) -> str:
        return "TelegramApi(token=***)"

    async def call(
        self, method: str, payload: dict[str, Any], *, timeout_seconds: float | None = None
    ) -> Any:
        """The call's `result`; raises RetryableSendError (429/5xx/transport) or TelegramApiError."""
        return await self._post(method, timeout_seconds, json=payload)

    async def upload(self, method: str, fields: dict[str, Any], upload: Upload) -> Any:
        """A multipart/form-data call carrying one file (sendPhoto, sendVoice…); errors as `call`."""
        field, filename, content, mime_type = upload
        return await self._post(
            method,
            UPLOAD_TIMEOUT_SECONDS,
            data={key: _form_value(value) for key, value in fields.items()},
            files={field: (filename, content, mime_type)},
        )

    async def _post(self, method: str, timeout_seconds: float | None, **body: Any) -> Any:
        url = f"{self._base}/bot{self._token}/{method}"
        kwargs: dict[str, Any] = {} if timeout_seconds is None else {"timeout": timeout_seconds}
        try:
            response = await self._http.post(url, **body, **kwargs)
        except httpx.TimeoutException:
            raise RetryableSendError(PLATFORM, f"{method} timed out") from None
        except httpx.TransportError as exc:
            raise RetryableSendError(PLATFORM, f"{method}: connection error {type(exc).__name__}") from None
        return self._result(method, response)

    def _result(self, method: str, response: httpx.Response) -> Any:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {}
        if response.is_success and data.get("ok") is True:
            return data.get("result")
        status = response.status_code if not response.is_success else int(data.get("error_code") or 500)
        description = str(data.get("description") or "")[:300].replace(self._token, "***")
        if retry.is_retryable_status(status):
            parameters = data.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if not isinstance(retry_after, (int, float)):
                retry_after = retry_after_seconds(response)
            raise RetryableSendError(
                PLATFORM, f"{method} failed: HTTP {status} {description}".rstrip(), retry_after=retry_after
            )
        raise TelegramApiError(method, status, description)

    async def send_message(self, payload: dict[str, Any]) -> Any:
        return await self.call("sendMessage", payload)

    async def get_me(self) -> Any:
        """The bot's own `User` (id, username)."""
        return await self.call("getMe", {}, timeout_seconds=IDENTITY_TIMEOUT_SECONDS)

    async def get_file(self, file_id: str) -> Any:
        """The `File` object (`file_path`, `file_size`) a download URL is made from."""
        return await self.call("getFile", {"file_id": file_id})

    def file_url(self, file_path: str) -> str:
        """Where a file's bytes are served; holds the token, so it must never be logged."""
        return f"{self._base}/file/bot{self._token}/{file_path.lstrip('/')}"

    async def get_updates(self, offset: int | None, poll_seconds: int) -> list[Any]:
        payload: dict[str, Any] = {"timeout": poll_seconds, "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = offset
        result = await self.call("getUpdates", payload, timeout_seconds=poll_seconds + 10.0)
        return result if isinstance(result, list) else []

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook", {"drop_pending_updates": False})
