"""WeChat MP outbound API: cached `/cgi-bin/token` plus the customer-service `message/custom/send`."""

from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common.http import error_for_status
from parley_runtime.platforms.common.tokens import TokenCache
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

PLATFORM = "wechat-mp"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
MAX_CONTENT_BYTES = 2048  # not documented; what third parties observe for customer-service text
TOKEN_REJECTED = frozenset({40001, 40014, 42001})  # invalid / expired access_token
RETRYABLE = frozenset({-1, 45009})  # system busy, daily API quota (resets, so a later retry may pass)


class _TokenRejected(Exception):
    pass


def split_utf8(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` UTF-8 bytes, breaking after a newline when one is near the end."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > limit and current:
            piece = "".join(current)
            cut = piece.rfind("\n")
            if cut > len(piece) // 2:
                chunks.append(piece[: cut + 1])
                current = [piece[cut + 1 :]]
                size = len(current[0].encode())
            else:
                chunks.append(piece)
                current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return [c for c in chunks if c.strip()] or [text[:1] or " "]


def check_errcode(body: dict[str, Any]) -> None:
    """Raise for a non-zero errcode; names the code only (errmsg may echo request data)."""
    code = body.get("errcode", 0)
    if code == 0:
        return
    if code in TOKEN_REJECTED:
        raise _TokenRejected
    if code in RETRYABLE:
        raise RetryableSendError(PLATFORM, f"errcode {code}")
    # 45015: the follower has not written for 48 h; 45047: the 5-replies-per-message quota is used.
    raise PermanentSendError(PLATFORM, f"errcode {code}")


async def call(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One API call → its JSON object; transport and HTTP failures become send errors."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise RetryableSendError(PLATFORM, "timeout") from None
    except httpx.TransportError as exc:
        raise RetryableSendError(PLATFORM, f"connection error: {type(exc).__name__}") from None
    error = error_for_status(PLATFORM, response)
    if error is not None:
        raise error
    try:
        body = response.json()
    except ValueError:
        raise RetryableSendError(PLATFORM, "answer is not JSON") from None
    if not isinstance(body, dict):
        raise PermanentSendError(PLATFORM, "answer is not a JSON object")
    return body


class WeChatMpClient:
    """Customer-service messages of one official account; one access token per binding.

    WeChat invalidates the previous token when a new one is fetched, so every replica fetching its own
    token makes the others re-fetch once (handled by the retry on 40001/42001).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        *,
        app_id: str,
        app_secret: str,
        api_base: str | None = None,
    ) -> None:
        self._http = http
        self._app_id = app_id
        self._secret = app_secret
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"WeChatMpClient(app_id={self._app_id!r})"

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret}
        body = await call(self._http, "GET", f"{self._base}/cgi-bin/token", params=params)
        if body.get("errcode", 0) != 0 or not isinstance(body.get("access_token"), str):
            kind = RetryableSendError if body.get("errcode") == -1 else PermanentSendError
            raise kind(PLATFORM, f"token request failed: errcode {body.get('errcode')}")
        return body["access_token"], float(body.get("expires_in", 7200))

    async def send_text(self, openid: str, content: str) -> None:
        for chunk in split_utf8(content, MAX_CONTENT_BYTES):
            payload = {"touser": openid, "msgtype": "text", "text": {"content": chunk}}
            await self._post_with_token("/cgi-bin/message/custom/send", payload)

    async def _post_with_token(self, path: str, payload: dict[str, Any]) -> None:
        for attempt in range(2):
            token = await self.tokens.get()
            url = f"{self._base}{path}"
            body = await call(self._http, "POST", url, params={"access_token": token}, json=payload)
            try:
                check_errcode(body)
                return
            except _TokenRejected:
                self.tokens.invalidate()
                if attempt:
                    raise PermanentSendError(PLATFORM, "access token rejected twice") from None
