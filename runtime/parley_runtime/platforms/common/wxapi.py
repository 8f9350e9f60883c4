"""Tencent's `errcode` JSON APIs (WeCom, WeChat MP), which share their conventions: errcode 0 is success,
40001/40014/42001 mean the access token went stale before its expiry, -1 means "busy, try later".

The token rule lives here once: a rejected token is forgotten and fetched again, once, because WeChat
invalidates a token whenever anyone (another replica) fetches a new one. Each adapter keeps its host,
paths, messages and its own list of codes worth retrying. Messages name the code only: `errmsg` may echo
request data.

Both platforms also share their temporary-media API: `cgi-bin/media/upload?type=…` (multipart field
`media`) answers a `media_id` a message can carry, and `cgi-bin/media/get?media_id=…` answers the bytes
— or, when it refuses, a small JSON object with an errcode in place of the file. `TemporaryMedia` is that
API for one account: both clients build one, and both adapters upload and fetch through it.
"""

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from parley_runtime.core.media import MediaUnavailable, decode_data_url
from parley_runtime.core.messages import Attachment
from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.common import media as common_media
from parley_runtime.platforms.common import tokens as common_tokens
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError, SendError

__all__ = [
    "MAX_IMAGE_BYTES",
    "TOKEN_REJECTED",
    "ErrcodeApi",
    "Refused",
    "TemporaryMedia",
    "image_to_upload",
]

log = logging.getLogger(__name__)

TOKEN_REJECTED = frozenset({40001, 40014, 42001})  # invalid / expired access_token
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # temporary media: an image of at most 10 MB on both platforms
# An errcode answer is a few dozen bytes; no picture, voice note or video starts with "{".
_MAX_ERROR_ANSWER = 4096
# The upload's file name carries the type; every other image type the platforms take is JPEG.
_IMAGE_EXTENSIONS = {"image/png": "png", "image/gif": "gif"}


class Refused(PermanentSendError):
    """The API refused the request itself with an errcode (not the token, not "busy"): the content,
    the recipient or the media. An adapter may try the same part once more in a plainer form."""

    def __init__(self, platform: str, code: object) -> None:
        super().__init__(platform, f"errcode {code}")
        self.code = code


class ErrcodeApi:
    """Calls to one errcode API on behalf of one platform (the name its send errors carry)."""

    def __init__(self, http: httpx.AsyncClient, *, platform: str, retryable: frozenset[int]) -> None:
        self._http = http
        self._platform = platform
        self._retryable = retryable

    def __repr__(self) -> str:
        return f"ErrcodeApi(platform={self._platform!r})"

    @property
    def platform(self) -> str:
        return self._platform

    def check(self, body: dict[str, Any]) -> None:
        """Raise for a non-zero errcode: TokenRejected, or a retryable send error, or Refused."""
        code = body.get("errcode", 0)
        if code == 0:
            return
        if code in TOKEN_REJECTED:
            raise common_tokens.TokenRejected
        if code in self._retryable:
            raise RetryableSendError(self._platform, f"errcode {code}")
        raise Refused(self._platform, code)

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

    async def call_with_token(
        self, tokens: common_tokens.TokenCache, method: str, url: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One call with the cached token in the query, checked (see `check`); a rejected token is
        fetched again once. Returns the answer."""
        extra = kwargs.pop("params", {})
        answers: list[dict[str, Any]] = []

        async def attempt(token: str) -> None:
            body = await self.call(method, url, params={**extra, "access_token": token}, **kwargs)
            self.check(body)
            answers.append(body)

        await common_tokens.send_with_token(tokens, attempt, platform=self._platform)
        return answers[-1]

    async def post_with_token(
        self, tokens: common_tokens.TokenCache, url: str, payload: dict[str, Any]
    ) -> None:
        """POST `payload` with the cached token; a rejected token is fetched again once."""
        await self.call_with_token(tokens, "POST", url, json=payload)

    async def upload_media(
        self,
        tokens: common_tokens.TokenCache,
        url: str,
        *,
        media_type: str,
        data: bytes,
        mime_type: str,
        filename: str,
    ) -> str:
        """The `media_id` of `data` uploaded as temporary media of `media_type` (image, voice…)."""
        answer = await self.call_with_token(
            tokens, "POST", url, params={"type": media_type}, files={"media": (filename, data, mime_type)}
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise PermanentSendError(self._platform, "media/upload answered no media_id")
        return media_id

    async def fetch_media(
        self, tokens: common_tokens.TokenCache, url: str, attachment: Attachment, max_bytes: int
    ) -> bytes:
        """The bytes `media/get` serves for the attachment's `media_id`, at most `max_bytes`.

        A refusal arrives as a JSON errcode object in place of the file: a stale token is fetched again
        once, any other code is MediaUnavailable. A WeChat video answers `{"video_url": …}`, which is
        followed.
        """
        media_id = attachment.ref.get("media_id", "")
        if not media_id:
            raise MediaUnavailable(attachment.kind, "no media_id")
        common_media.check_declared_size(attachment, max_bytes)
        for attempt in (1, 2):
            try:
                token = await tokens.get()
            except SendError as exc:
                raise MediaUnavailable(attachment.kind, f"access token: {type(exc).__name__}") from None
            params = {"access_token": token, "media_id": media_id}
            body = await common_media.download(
                self._http, attachment, url, max_bytes=max_bytes, params=params
            )
            answer = _json_answer(body)
            if answer is None:
                return body
            code, video_url = answer.get("errcode", 0), answer.get("video_url")
            if code == 0 and isinstance(video_url, str) and video_url.startswith(("http://", "https://")):
                return await common_media.download(self._http, attachment, video_url, max_bytes=max_bytes)
            if code in TOKEN_REJECTED and attempt == 1:
                tokens.invalidate()
                continue
            raise MediaUnavailable(attachment.kind, f"media/get errcode {code}")
        raise MediaUnavailable(attachment.kind, "access token rejected twice")


@dataclass(frozen=True)
class TemporaryMedia:
    """The temporary-media API of one account at `base` (the same paths on both platforms), called with
    the account's cached token: outbound images uploaded for a `media_id`, inbound media fetched by theirs.
    `image_types` are the image types the platform takes."""

    api: ErrcodeApi
    tokens: common_tokens.TokenCache
    base: str
    image_types: frozenset[str]

    async def upload_image(self, attachment: Attachment) -> str | None:
        """The `media_id` of an outbound image attachment, uploaded; None, logged, for one the platform
        would refuse (see `image_to_upload`), which is left out of the reply."""
        image = image_to_upload(attachment, self.image_types)
        if isinstance(image, str):
            log.warning(
                "%s reply attachment not sent",
                self.api.platform,
                extra={"attachment": repr(attachment), "why": image},
            )
            return None
        mime_type, data = image
        return await self.api.upload_media(
            self.tokens,
            f"{self.base}/cgi-bin/media/upload",
            media_type="image",
            data=data,
            mime_type=mime_type,
            filename=f"image.{_IMAGE_EXTENSIONS.get(mime_type, 'jpg')}",
        )

    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The bytes of a received picture, voice note or video (`media/get` by its media_id)."""
        url = f"{self.base}/cgi-bin/media/get"
        return await self.api.fetch_media(self.tokens, url, attachment, max_bytes)


def image_to_upload(attachment: Attachment, allowed: frozenset[str]) -> tuple[str, bytes] | str:
    """(mime type, bytes) of an outbound image the temporary-media API takes, or why it would refuse
    it: not an image, not a data URL, a type outside `allowed`, more than 10 MB."""
    if attachment.kind != "image":
        return f"{attachment.kind} attachments are not sent"
    decoded = decode_data_url(attachment.url or "")
    if decoded is None:
        return "not a data URL"
    mime_type, data = decoded
    if mime_type not in allowed:
        return f"{mime_type} is not one of {', '.join(sorted(allowed))}"
    if len(data) > MAX_IMAGE_BYTES:
        return "larger than 10 MB"
    return mime_type, data


def _json_answer(body: bytes) -> dict[str, Any] | None:
    """The JSON object `media/get` answered instead of a file; None when `body` is the file.

    The shared download helper hands over bytes, not headers, so the answer is recognised by its shape:
    small, starting with "{", a JSON object — which no picture (JPEG, PNG, GIF), AMR/Speex voice note or
    MP4 video ever is.
    """
    if len(body) > _MAX_ERROR_ANSWER or not body.lstrip().startswith(b"{"):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
