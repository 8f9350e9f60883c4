"""The app access token (`getAppAccessToken`, cached) and passive replies to users and groups."""

from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.core import retry
from parley_runtime.platforms.common.http import post_json, retry_after_seconds
from parley_runtime.platforms.common.tokens import TokenCache
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["API_BASE", "AUTH_BASE", "SANDBOX_API_BASE", "QQApi"]

API_BASE = "https://api.sgroup.qq.com"
SANDBOX_API_BASE = "https://sandbox.api.sgroup.qq.com"
AUTH_BASE = "https://bots.qq.com"
PLATFORM = "qq"
_TIMEOUT = 10.0  # QQ asks for >= 5 s when sending


class QQApi:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app_id: str,
        app_secret: str,
        api_base: str,
        token_base: str,
        clock: Callable[[], float],
    ) -> None:
        self._http = http
        self._app_id = app_id
        self._secret = app_secret
        self._api_base = api_base.rstrip("/")
        self._token_base = token_base.rstrip("/")
        # QQ issues a fresh token only in the last 60 s of the old one: refresh inside that window.
        self.tokens = TokenCache(self._fetch_token, clock, refresh_margin=50.0)

    def __repr__(self) -> str:
        return f"QQApi(app_id={self._app_id!r})"

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self._token_base}/app/getAppAccessToken"
        body = {"appId": self._app_id, "clientSecret": self._secret}
        response = await post_json(PLATFORM, self._http, url, body, timeout=_TIMEOUT)
        try:
            data = response.json()
            token, expires_in = data["access_token"], float(data["expires_in"])  # expires_in is a string
        except (ValueError, KeyError, TypeError):
            raise PermanentSendError(PLATFORM, "getAppAccessToken refused (check appId/appSecret)") from None
        if not isinstance(token, str) or not token:
            raise PermanentSendError(PLATFORM, "getAppAccessToken returned no token")
        return token, expires_in

    async def send_message(self, target: str, openid: str, payload: dict[str, Any]) -> None:
        """POST /v2/users/{openid}/messages, /v2/groups/{group_openid}/messages or (guild channels)
        /channels/{channel_id}/messages."""
        await self._post(_messages_url(self._api_base, target, openid), json=payload)

    async def send_channel_image(self, channel_id: str, msg_id: str, data: bytes, mime_type: str) -> None:
        """A passive reply carrying one image in a guild channel (multipart `file_image`); QQ groups
        and private chats take media only by public URL."""
        extension = {"image/png": "png", "image/gif": "gif"}.get(mime_type, "jpg")
        await self._post(
            _messages_url(self._api_base, "channel", channel_id),
            data={"msg_id": msg_id},
            files={"file_image": (f"image.{extension}", data, mime_type)},
        )

    async def _post(self, url: str, **kwargs: Any) -> None:
        """One authorised POST; one re-fetch of the token when QQ answers 401 (token expired or revoked
        early)."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            try:
                response = await self._http.post(
                    url, headers={"authorization": f"QQBot {token}"}, timeout=_TIMEOUT, **kwargs
                )
            except httpx.TimeoutException:
                raise RetryableSendError(PLATFORM, "send timed out") from None
            except httpx.TransportError as exc:
                raise RetryableSendError(PLATFORM, f"connection error {type(exc).__name__}") from None
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate()
                continue
            _raise_for(response)
            return


def _messages_url(base: str, target: str, openid: str) -> str:
    path = {"user": "v2/users", "group": "v2/groups", "channel": "channels"}[target]
    return f"{base}/{path}/{openid}/messages"


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        data = response.json()
    except ValueError:
        data = None
    code = data.get("code") if isinstance(data, dict) else None
    message = str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
    what = f"HTTP {response.status_code} code={code} {message}".rstrip()
    if retry.is_retryable_status(response.status_code):
        raise RetryableSendError(PLATFORM, what, retry_after=retry_after_seconds(response))
    raise PermanentSendError(PLATFORM, what)
