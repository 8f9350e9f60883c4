"""Feishu/Lark IM API: cached tenant_access_token, reply to a message or create one in a chat."""

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

FEISHU_API_BASE = "https://open.feishu.cn"
LARK_API_BASE = "https://open.larksuite.com"
# Request bodies may be 150 KB (text) / 30 KB (post); chunks leave room for JSON escaping inside `content`.
TEXT_CHUNK_BYTES = 36_000
POST_CHUNK_BYTES = 7_000
TOKEN_REJECTED = frozenset({99991661, 99991663, 99991664, 99991665, 99991668})
RATE_LIMITED = frozenset({99991400})
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def message_body(text: str, *, markdown: bool) -> tuple[str, str]:
    """(msg_type, content JSON string) for one chunk; markdown goes as a `post` with one `md` element."""
    if markdown:
        post = {"zh_cn": {"title": "", "content": [[{"tag": "md", "text": text}]]}}
        return "post", json.dumps(post, ensure_ascii=False)
    return "text", json.dumps({"text": text}, ensure_ascii=False)


def idempotency_uuid(binding: str, event_id: str, index: int) -> str:
    """Same inbound event + chunk → same uuid, so Feishu drops a retried duplicate (within 1 h)."""
    return hashlib.sha256(f"{binding}:{event_id}:{index}".encode()).hexdigest()[:40]


class FeishuClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        *,
        platform: str,
        app_id: str,
        app_secret: str,
        api_base: str | None = None,
    ) -> None:
        self._http = http
        self._platform = platform
        self._app_id = app_id
        self._secret = app_secret
        default = LARK_API_BASE if platform == "lark" else FEISHU_API_BASE
        self._base = (api_base or default).rstrip("/")
        self.tokens = common_tokens.TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"FeishuClient(app_id={self._app_id!r}, base={self._base!r})"

    async def _call(
        self,
        url: str,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await common_http.request(
            self._platform, self._http, "POST", url, json=payload, headers=headers, params=params
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        # Feishu answers token and rate problems with a 4xx *and* a code: the code decides.
        if code in TOKEN_REJECTED:
            raise common_tokens.TokenRejected
        if code in RATE_LIMITED:
            raise RetryableSendError(
                self._platform, f"code {code}", retry_after=common_http.retry_after_seconds(response)
            )
        error = common_http.error_for_status(self._platform, response)
        if error is not None:
            raise error
        if not isinstance(body, dict):
            raise RetryableSendError(self._platform, "answer is not a JSON object")
        if code != 0:
            raise PermanentSendError(self._platform, f"code {code}")
        return body

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self._base}/open-apis/auth/v3/tenant_access_token/internal"
        try:
            body = await self._call(url, {"app_id": self._app_id, "app_secret": self._secret})
        except common_tokens.TokenRejected:
            raise PermanentSendError(self._platform, "app credentials rejected") from None
        token = body.get("tenant_access_token")
        if not isinstance(token, str):
            raise PermanentSendError(self._platform, "no tenant_access_token in answer")
        return token, float(body.get("expire", 7200))

    async def _authorized(
        self, url: str, payload: dict[str, Any], params: dict[str, str] | None = None
    ) -> None:
        async def post(token: str) -> None:
            await self._call(url, payload, {"Authorization": f"Bearer {token}"}, params=params)

        await common_tokens.send_with_token(
            self.tokens, post, platform=self._platform, what="tenant access token"
        )

    async def reply(
        self, message_id: str, msg_type: str, content: str, uuid: str, *, in_thread: bool
    ) -> None:
        if not _MESSAGE_ID.match(message_id):
            raise PermanentSendError(self._platform, "malformed message_id in reply context")
        payload = {"msg_type": msg_type, "content": content, "uuid": uuid, "reply_in_thread": in_thread}
        await self._authorized(f"{self._base}/open-apis/im/v1/messages/{message_id}/reply", payload)

    async def create(
        self, receive_id_type: str, receive_id: str, msg_type: str, content: str, uuid: str
    ) -> None:
        payload = {"receive_id": receive_id, "msg_type": msg_type, "content": content, "uuid": uuid}
        url = f"{self._base}/open-apis/im/v1/messages"
        await self._authorized(url, payload, {"receive_id_type": receive_id_type})
