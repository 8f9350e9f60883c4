"""WeChat MP outbound API: cached `/cgi-bin/token`, the customer-service `message/custom/send` (text and
image), temporary media upload and download."""

from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.common import wxapi
from parley_runtime.platforms.common.tokens import TokenCache

PLATFORM = "wechat-mp"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
MAX_CONTENT_BYTES = 2048  # not documented; what third parties observe for customer-service text
# System busy, daily API quota (resets, so a later retry may pass). Not retried: 45015 (the follower has
# not written for 48 h) and 45047 (the 5-replies-per-message quota is used).
RETRYABLE = frozenset({-1, 45009})
# Temporary media (新增临时素材): images are PNG, JPEG or GIF (at most `wxapi.MAX_IMAGE_BYTES`). Voice is
# AMR or MP3 of at most 60 s, which a spoken reply need not be, so audio is not sent.
IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif"})


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
        self._api = wxapi.ErrcodeApi(http, platform=PLATFORM, retryable=RETRYABLE)
        self._app_id = app_id
        self._secret = app_secret
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = TokenCache(self._fetch_token, clock)
        self.media = wxapi.TemporaryMedia(self._api, self.tokens, self._base, IMAGE_TYPES)

    def __repr__(self) -> str:
        return f"WeChatMpClient(app_id={self._app_id!r})"

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret}
        return await self._api.fetch_token(f"{self._base}/cgi-bin/token", params, "token request failed")

    async def _send(self, openid: str, kind: str, body: dict[str, Any]) -> None:
        payload = {"touser": openid, "msgtype": kind, kind: body}
        await self._api.post_with_token(self.tokens, f"{self._base}/cgi-bin/message/custom/send", payload)

    async def send_text(self, openid: str, chunk: str) -> None:
        """Send one part (see `parts`) through the customer-service API."""
        await self._send(openid, "text", {"content": chunk})

    async def send_image(self, openid: str, media_id: str) -> None:
        """Send uploaded temporary media (see `media`) as a customer-service image message."""
        await self._send(openid, "image", {"media_id": media_id})


def parts(content: str) -> list[str]:
    """`content` split at the 2048-byte limit of one message."""
    return common_text.split_utf8(content, MAX_CONTENT_BYTES)
