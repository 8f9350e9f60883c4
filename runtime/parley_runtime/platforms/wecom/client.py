"""WeCom outbound API: cached `gettoken`, `message/send` (text, markdown, image), temporary media upload
and download, errcodes mapped to send errors."""

from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.common import wxapi
from parley_runtime.platforms.common.tokens import TokenCache

PLATFORM = "wecom"
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
MAX_CONTENT_BYTES = 2048  # text and markdown content limit of an app message
RETRYABLE = frozenset({-1, 45009, 45033})  # system busy, API frequency limits
# Temporary media (上传临时素材): images are JPG or PNG (at most `wxapi.MAX_IMAGE_BYTES`); voice must be
# AMR of at most 60 s, which replies are not, so audio is not sent.
IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png"})


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
        self._api = wxapi.ErrcodeApi(http, platform=PLATFORM, retryable=RETRYABLE)
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = TokenCache(self._fetch_token, clock)
        self.media = wxapi.TemporaryMedia(self._api, self.tokens, self._base, IMAGE_TYPES)

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self._corp_id!r}, agent_id={self._agent_id!r})"

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self._secret}
        return await self._api.fetch_token(f"{self._base}/cgi-bin/gettoken", params, "gettoken failed")

    async def _send(self, touser: str, kind: str, body: dict[str, Any]) -> None:
        payload = {"touser": touser, "msgtype": kind, "agentid": int(self._agent_id), kind: body}
        await self._api.post_with_token(self.tokens, f"{self._base}/cgi-bin/message/send", payload)

    async def send(self, touser: str, chunk: str, *, markdown: bool = False) -> None:
        """Send one part (see `parts`) to one member, as `markdown` or plain text; a refused message
        raises `wxapi.Refused`."""
        await self._send(touser, "markdown" if markdown else "text", {"content": chunk})

    async def send_image(self, touser: str, media_id: str) -> None:
        """Send uploaded temporary media (see `media`) as an image message."""
        await self._send(touser, "image", {"media_id": media_id})


def parts(content: str) -> list[str]:
    """`content` split at the 2048-byte limit of one message."""
    return common_text.split_utf8(content, MAX_CONTENT_BYTES)
