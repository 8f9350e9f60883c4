"""Tencent's `errcode` JSON APIs (WeCom, WeChat MP), which share their conventions: errcode 0 is success,
40001/40014/42001 mean the access token went stale before its expiry, -1 means "busy, try later".

The token rule lives here once: a rejected token is forgotten and fetched again, once, because WeChat
invalidates a token whenever anyone (another replica) fetches a new one. Each adapter keeps its host,
paths, messages and its own list of codes worth retrying. Messages name the code only: `errmsg` may echo
request data.
"""

from typing import Any

import httpx

from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["TOKEN_REJECTED", "ErrcodeApi"]

TOKEN_REJECTED = frozenset({40001, 40014, 42001})  # invalid / expired access_token


class ErrcodeApi:
    """Calls to one errcode API on behalf of one platform (the name its send errors carry)."""

    def __init__(self, http: httpx.AsyncClient, *, platform: str, retryable: frozenset[int]) -> None:
        self._http = http
        self._platform = platform
        self._retryable = retryable

    def __repr__(self) -> str:
        return f"ErrcodeApi(platform={self._platform!r})"

    def check(self, body: dict[str, Any]) -> None:
        """Raise for a non-zero errcode: TokenRejected, or a retryable / permanent send error."""
        code = body.get("errcode", 0)
        if code == 0:
            return
        if code in TOKEN_REJECTED:
            raise common_tokens.TokenRejected
        if code in self._retryable:
            raise RetryableSendError(self._platform, f"errcode {code}")
        raise PermanentSendError(self._platform, f"errcode {code}")

    async def call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One API call → its JSON object; transport and HTTP failures become send errors."""
        response = await common_http.request_ok(self._platform, self._http, method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise RetryableSendError(self._platform, "answer is not JSON") from None
        if not isinstance(body, dict):
            raise PermanentSendError(self._platform, "answer is not a JSON object")
        return body

    async def fetch_token(self, url: str, params: dict[str, str], failure: str) -> tuple[str, float]:
        """(access_token, lifetime) from a token endpoint; `failure` starts the error message."""
        body = await self.call("GET", url, params=params)
        if body.get("errcode", 0) != 0 or not isinstance(body.get("access_token"), str):
            # Wrong credentials are not fixed by retrying; -1 (busy) is.
            kind = RetryableSendError if body.get("errcode") == -1 else PermanentSendError
            raise kind(self._platform, f"{failure}: errcode {body.get('errcode')}")
        return body["access_token"], float(body.get("expires_in", 7200))

    async def post_with_token(
        self, tokens: common_tokens.TokenCache, url: str, payload: dict[str, Any]
    ) -> None:
        """POST `payload` with the cached token; a rejected token is fetched again once."""

        async def post(token: str) -> None:
            self.check(await self.call("POST", url, params={"access_token": token}, json=payload))

        await common_tokens.send_with_token(tokens, post, platform=self._platform)
