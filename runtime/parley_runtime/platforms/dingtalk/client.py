"""DingTalk HTTP: POST to the inbound sessionWebhook, the robot OpenAPI once it has expired, and the
robot's message-file download (inbound media)."""

import json
from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.core.media import MediaUnavailable
from parley_runtime.core.messages import Attachment
from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import markdown as common_markdown
from parley_runtime.platforms.common import media as common_media
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError, SendError

PLATFORM = "dingtalk"
DEFAULT_API_BASE = "https://api.dingtalk.com"
MAX_CHARS = 5000  # no official limit found; keeps messages readable and well under any size cap
TITLE_CHARS = 30  # the markdown title is what the notification and the chat list show
EXPIRY_MARGIN_MS = 5_000
RETRYABLE_ERRCODES = frozenset({-1, 130101})  # system busy; "send too fast"
DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
USERS_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"


class Rejected(PermanentSendError):
    """DingTalk refused the message itself (an `errcode`, or a 400 with a `code`), not the transport."""

    def __init__(self, code: object) -> None:
        super().__init__(PLATFORM, f"errcode {code}")
        self.code = code


def markdown_title(markdown: str) -> str:
    """The first line of the rendered text, plain and short: DingTalk shows it outside the chat."""
    plain = common_markdown.to_plain(markdown)
    first = next((line.strip() for line in plain.splitlines() if line.strip()), "")
    return first[:TITLE_CHARS] or "reply"


def session_payload(text: str, *, markdown: bool) -> dict[str, Any]:
    if markdown:
        return {"msgtype": "markdown", "markdown": {"title": markdown_title(text), "text": text}}
    return {"msgtype": "text", "text": {"content": text}}


def openapi_message(text: str, *, markdown: bool) -> tuple[str, str]:
    """(msgKey, msgParam JSON string) of the robot OpenAPI."""
    if markdown:
        param = {"title": markdown_title(text), "text": text}
        return "sampleMarkdown", json.dumps(param, ensure_ascii=False)
    return "sampleText", json.dumps({"content": text}, ensure_ascii=False)


async def _post(
    http: httpx.AsyncClient, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[httpx.Response, Any]:
    response = await common_http.request(PLATFORM, http, "POST", url, json=payload, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    return response, body


class DingTalkClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        *,
        app_key: str,
        app_secret: str,
        api_base: str | None = None,
    ) -> None:
        self._http = http
        self._clock = clock
        self.app_key = app_key
        self._secret = app_secret
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = common_tokens.TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"DingTalkClient(app_key={self.app_key!r})"

    def robot_code_for(self, configured: str | None) -> str:
        """The robot's code: `settings.robotCode` when set, else the AppKey, which is the robot code of
        an enterprise-internal app's robot."""
        return configured or self.app_key

    async def to_session(self, webhook: str, text: str, *, markdown: bool) -> None:
        """Reply through the sessionWebhook of the inbound message (no token needed)."""
        response, body = await _post(self._http, webhook, session_payload(text, markdown=markdown))
        error = common_http.error_for_status(PLATFORM, response)
        if error is not None:
            raise error
        code = body.get("errcode", 0) if isinstance(body, dict) else 0
        if code in RETRYABLE_ERRCODES:
            raise RetryableSendError(PLATFORM, f"errcode {code}")
        if code != 0:
            raise Rejected(code)

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self.base}/v1.0/oauth2/accessToken"
        response, body = await _post(self._http, url, {"appKey": self.app_key, "appSecret": self._secret})
        error = common_http.error_for_status(PLATFORM, response)
        if error is not None:
            raise error
        if not isinstance(body, dict) or not isinstance(body.get("accessToken"), str):
            raise PermanentSendError(PLATFORM, "no accessToken in answer")
        return body["accessToken"], float(body.get("expireIn", 7200))

    async def robot_call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST to a robot OpenAPI path with the cached token (re-fetched once if refused); the answer."""
        answer: dict[str, Any] = {}

        async def post(token: str) -> None:
            headers = {"x-acs-dingtalk-access-token": token}
            response, body = await _post(self._http, f"{self.base}{path}", payload, headers)
            code = body.get("code") if isinstance(body, dict) else None
            if response.status_code == 401 or code == "InvalidAuthentication":
                raise common_tokens.TokenRejected
            if response.status_code == 400 and code is not None:
                raise Rejected(code)  # e.g. "param.invalid": what was sent, not how
            error = common_http.error_for_status(PLATFORM, response)
            if error is not None:
                raise error
            answer.update(body if isinstance(body, dict) else {})

        await common_tokens.send_with_token(self.tokens, post, platform=PLATFORM)
        return answer

    async def robot_send(
        self, path: str, target: dict[str, Any], text: str, *, robot_code: str, markdown: bool
    ) -> None:
        """One robot message (`sampleText` or `sampleMarkdown`) to `target`: a group's
        `openConversationId` (GROUP_SEND_PATH) or `userIds` (USERS_SEND_PATH)."""
        msg_key, msg_param = openapi_message(text, markdown=markdown)
        payload = {"robotCode": robot_code, "msgKey": msg_key, "msgParam": msg_param, **target}
        await self.robot_call(path, payload)

    async def fetch_media(self, attachment: Attachment, max_bytes: int, *, robot_code: str) -> bytes:
        """An inbound message's file: its downloadCode buys a short-lived URL (messageFiles/download),
        which is then read without a token."""
        common_media.check_declared_size(attachment, max_bytes)
        download_code = attachment.ref.get("downloadCode", "")
        robot = attachment.ref.get("robotCode") or robot_code
        if not download_code:
            raise MediaUnavailable(attachment.kind, "no downloadCode")
        try:
            answer = await self.robot_call(DOWNLOAD_PATH, {"downloadCode": download_code, "robotCode": robot})
        except SendError as exc:
            raise MediaUnavailable(attachment.kind, f"download url: {type(exc).__name__}") from None
        url = answer.get("downloadUrl")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise MediaUnavailable(attachment.kind, "no downloadUrl")
        return await common_media.download(self._http, attachment, url, max_bytes=max_bytes)
