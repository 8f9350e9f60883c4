"""Feishu/Lark Open API: cached tenant_access_token, messages (reply/create), the bot's identity, a
message's sender, image upload and message resources (inbound media)."""

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.core.media import MediaUnavailable
from parley_runtime.core.messages import Attachment
from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import media as common_media
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError, SendError

FEISHU_API_BASE = "https://open.feishu.cn"
LARK_API_BASE = "https://open.larksuite.com"
# Request bodies may be 150 KB (text) / 30 KB (card, post); chunks leave room for JSON escaping inside
# `content`. A card chunk of 8000 characters stays under 30 KB even when every one is CJK (3 bytes).
TEXT_CHUNK_BYTES = 36_000
CARD_CHUNK_CHARS = 8_000
TOKEN_REJECTED = frozenset({99991661, 99991663, 99991664, 99991665, 99991668})
RATE_LIMITED = frozenset({99991400})
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # message ids (om_…), image/file keys (img_v2_…, file_v2_…)


class Rejected(PermanentSendError):
    """Feishu answered with a non-zero `code` that is neither a token nor a rate problem: the request
    itself was refused (card content it cannot render, a missing permission, a deleted message)."""

    def __init__(self, platform: str, code: int, status: int) -> None:
        super().__init__(platform, f"code {code} (HTTP {status})")
        self.code = code


def valid_id(value: str) -> bool:
    """Whether `value` can go into a URL path as a Feishu message id or resource key."""
    return bool(_ID.match(value))


def text_content(text: str) -> str:
    """`content` of a `msg_type: text` message."""
    return json.dumps({"text": text}, ensure_ascii=False)


def card_content(markdown: str) -> str:
    """`content` of a `msg_type: interactive` message: a card (JSON 2.0) with one markdown element,
    the richest Markdown Feishu renders (headings, lists, code blocks, links, tables)."""
    card = {"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": markdown}]}}
    return json.dumps(card, ensure_ascii=False)


def image_content(image_key: str) -> str:
    return json.dumps({"image_key": image_key})


def idempotency_uuid(binding: str, event_id: str, part: int | str) -> str:
    """Same inbound event + part → same uuid, so Feishu drops a retried duplicate (within 1 h)."""
    return hashlib.sha256(f"{binding}:{event_id}:{part}".encode()).hexdigest()[:40]


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
        self.app_id = app_id
        self._secret = app_secret
        default = LARK_API_BASE if platform == "lark" else FEISHU_API_BASE
        self._base = (api_base or default).rstrip("/")
        self.tokens = common_tokens.TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"FeishuClient(app_id={self.app_id!r}, base={self._base!r})"

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = await common_http.request(self._platform, self._http, method, url, **kwargs)
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
        if isinstance(error, RetryableSendError):
            raise error
        if isinstance(code, int) and code != 0:
            raise Rejected(self._platform, code, response.status_code)
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
            body = await self._call("POST", url, json={"app_id": self.app_id, "app_secret": self._secret})
        except (common_tokens.TokenRejected, Rejected):
            raise PermanentSendError(self._platform, "app credentials rejected") from None
        token = body.get("tenant_access_token")
        if not isinstance(token, str):
            raise PermanentSendError(self._platform, "no tenant_access_token in answer")
        return token, float(body.get("expire", 7200))

    async def _authorized(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call with the tenant token (fetched again once if Feishu refuses it); the answer."""
        answer: dict[str, Any] = {}

        async def call(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            answer.update(await self._call(method, f"{self._base}{path}", headers=headers, **kwargs))

        await common_tokens.send_with_token(
            self.tokens, call, platform=self._platform, what="tenant access token"
        )
        return answer

    async def reply(
        self, message_id: str, msg_type: str, content: str, uuid: str, *, in_thread: bool
    ) -> None:
        if not valid_id(message_id):
            raise PermanentSendError(self._platform, "malformed message_id in reply context")
        payload = {"msg_type": msg_type, "content": content, "uuid": uuid, "reply_in_thread": in_thread}
        await self._authorized("POST", f"/open-apis/im/v1/messages/{message_id}/reply", json=payload)

    async def create(
        self, receive_id_type: str, receive_id: str, msg_type: str, content: str, uuid: str | None
    ) -> None:
        """A new message to `receive_id`; `uuid` makes a repeat within 1 h a no-op (None: no dedup)."""
        payload = {"receive_id": receive_id, "msg_type": msg_type, "content": content}
        if uuid is not None:
            payload["uuid"] = uuid
        params = {"receive_id_type": receive_id_type}
        await self._authorized("POST", "/open-apis/im/v1/messages", json=payload, params=params)

    async def upload_image(self, data: bytes, mime_type: str) -> str:
        """`image_key` of `data` uploaded for use in messages (POST /open-apis/im/v1/images)."""
        files = {"image": ("image", data, mime_type)}
        body = await self._authorized(
            "POST", "/open-apis/im/v1/images", data={"image_type": "message"}, files=files
        )
        key = body.get("data", {}).get("image_key") if isinstance(body.get("data"), dict) else None
        if not isinstance(key, str) or not key:
            raise PermanentSendError(self._platform, "no image_key in upload answer")
        return key

    async def bot_open_id(self) -> str:
        """The bot's open_id (GET /open-apis/bot/v3/info, which answers `bot` beside `code`)."""
        body = await self._authorized("GET", "/open-apis/bot/v3/info")
        bot = body.get("bot")
        open_id = bot.get("open_id") if isinstance(bot, dict) else None
        if not isinstance(open_id, str) or not open_id:
            raise PermanentSendError(self._platform, "no bot.open_id in bot info")
        return open_id

    async def sent_by_this_app(self, message_id: str) -> bool:
        """Whether message `message_id` was sent by this app (GET /open-apis/im/v1/messages/{id})."""
        if not valid_id(message_id):
            return False
        body = await self._authorized("GET", f"/open-apis/im/v1/messages/{message_id}")
        data = body.get("data")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return False
        sender = items[0].get("sender")
        if not isinstance(sender, dict):
            return False
        return sender.get("sender_type") == "app" and sender.get("id") == self.app_id

    async def resource(self, attachment: Attachment, max_bytes: int) -> bytes:
        """An inbound message's image or file (GET …/messages/{message_id}/resources/{file_key}?type=)."""
        common_media.check_declared_size(attachment, max_bytes)
        message_id = attachment.ref.get("message_id", "")
        key = attachment.ref.get("file_key", "")
        kind = attachment.ref.get("type", "file")
        if not (valid_id(message_id) and valid_id(key)) or kind not in ("image", "file"):
            raise MediaUnavailable(attachment.kind, "malformed resource reference")
        try:
            token = await self.tokens.get()
        except SendError as exc:
            raise MediaUnavailable(attachment.kind, f"tenant token: {type(exc).__name__}") from None
        url = f"{self._base}/open-apis/im/v1/messages/{message_id}/resources/{key}"
        return await common_media.download(
            self._http,
            attachment,
            url,
            max_bytes=max_bytes,
            headers={"Authorization": f"Bearer {token}"},
            params={"type": kind},
        )
