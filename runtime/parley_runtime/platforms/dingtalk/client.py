"""DingTalk outbound: POST to the inbound sessionWebhook, or the robot OpenAPI once it has expired."""

import json
from collections.abc import Callable
from typing import Any

import httpx

from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

PLATFORM = "dingtalk"
DEFAULT_API_BASE = "https://api.dingtalk.com"
MAX_CHARS = 5000  # no official limit found; keeps messages readable and well under any size cap
EXPIRY_MARGIN_MS = 5_000
RETRYABLE_ERRCODES = frozenset({-1, 130101})  # system busy; "send too fast"


def session_payload(text: str, *, markdown: bool) -> dict[str, Any]:
    if markdown:
        title = text.strip().splitlines()[0][:20] if text.strip() else "reply"
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msgtype": "text", "text": {"content": text}}


def openapi_message(text: str, *, markdown: bool) -> tuple[str, str]:
    """(msgKey, msgParam JSON string) of the robot OpenAPI."""
    if markdown:
        title = text.strip().splitlines()[0][:20] if text.strip() else "reply"
        return "sampleMarkdown", json.dumps({"title": title, "text": text}, ensure_ascii=False)
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
        self._app_key = app_key
        self._secret = app_secret
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.tokens = common_tokens.TokenCache(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"DingTalkClient(app_key={self._app_key!r})"

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
            raise PermanentSendError(PLATFORM, f"errcode {code}")

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self.base}/v1.0/oauth2/accessToken"
        response, body = await _post(self._http, url, {"appKey": self._app_key, "appSecret": self._secret})
        error = common_http.error_for_status(PLATFORM, response)
        if error is not None:
            raise error
        if not isinstance(body, dict) or not isinstance(body.get("accessToken"), str):
            raise PermanentSendError(PLATFORM, "no accessToken in answer")
        return body["accessToken"], float(body.get("expireIn", 7200))

    async def robot_send(self, path: str, payload: dict[str, Any]) -> None:
        """POST to a robot OpenAPI path with the cached token; a rejected token is re-fetched once."""

        async def post(token: str) -> None:
            headers = {"x-acs-dingtalk-access-token": token}
            response, body = await _post(self._http, f"{self.base}{path}", payload, headers)
            code = body.get("code") if isinstance(body, dict) else None
            if response.status_code == 401 or code == "InvalidAuthentication":
                raise common_tokens.TokenRejected
            error = common_http.error_for_status(PLATFORM, response)
            if error is not None:
                raise error

        await common_tokens.send_with_token(self.tokens, post, platform=PLATFORM)
