"""WeCom outbound API: cached `gettoken` plus `message/send`, errcodes mapped to send errors."""

from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common.http import error_for_status
from parley_runtime.platforms.common.tokens import TokenCache
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

PLATFORM = "wecom"
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
MAX_CONTENT_BYTES = 2048  # text and markdown content limit of an app message
TOKEN_REJECTED = frozenset({40001, 40014, 42001})  # invalid / expired access_token
RETRYABLE = frozenset({-1, 45009, 45033})  # system busy, API frequency limits


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
    """Raise for a non-zero errcode; the message names the code only (errmsg may echo input)."""
    code = body.get("errcode", 0)
    if code == 0:
        return
    if code in TOKEN_REJECTED:
        raise _TokenRejected
    if code in RETRYABLE:
        raise RetryableSendError(PLATFORM, f"errcode {code}")
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


class WeComClient:
    """Sends app messages as one agent; the access token is shared by all sends of the binding."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        *,
        corp_id: str,
        secret: str,
        agent_id: str,
        api_base: str | None = None,
    ) -> None:
        self._http = http
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self._corp_id!r}, agent_id={self._agent_id!r})"

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self._secret}
        body = await call(self._http, "GET", f"{self._base}/cgi-bin/gettoken", params=params)
        if body.get("errcode", 0) != 0 or not isinstance(body.get("access_token"), str):
            # A wrong corpsecret is not fixed by retrying; -1 (busy) is.
            kind = RetryableSendError if body.get("errcode") == -1 else PermanentSendError
            raise kind(PLATFORM, f"gettoken failed: errcode {body.get('errcode')}")
        return body["access_token"], float(body.get("expires_in", 7200))

    async def send(self, touser: str, content: str, *, markdown: bool = False) -> None:
        """Send `content` to one member, split at the 2048-byte limit."""
        for chunk in split_utf8(content, MAX_CONTENT_BYTES):
            kind = "markdown" if markdown else "text"
            payload = {
                "touser": touser,
                "msgtype": kind,
                "agentid": int(self._agent_id),
                kind: {"content": chunk},
            }
            await self._post_with_token("/cgi-bin/message/send", payload)

    async def _post_with_token(self, path: str, payload: dict[str, Any]) -> None:
        for attempt in range(2):
            token = await self.tokens.get()
            body = await call(
                self._http, "POST", f"{self._base}{path}", params={"access_token": token}, json=payload
            )
            try:
                check_errcode(body)
                return
            except _TokenRejected:
                self.tokens.invalidate()
                if attempt:
                    raise PermanentSendError(PLATFORM, "access token rejected twice") from None
