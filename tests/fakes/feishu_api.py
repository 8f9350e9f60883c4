"""Fake Feishu/Lark Open API on 127.0.0.1 (see `FakeApi`): tenant token, message reply/create, bot info,
message lookup, image upload and message resources.

    with FakeFeishuApi() as api:
        api.messages["om_bot1"] = APP_SENDER          # GET /open-apis/im/v1/messages/om_bot1
        api.resources["img_v2_1"] = b"\\x89PNG..."     # GET …/messages/{id}/resources/img_v2_1
        api.chunked["…/resources/file_v2_big"] = b"…"  # served without Content-Length
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from fakes.served import record
from fakes.wechat_api import FakeApi, Recorded, Reply

__all__ = ["FakeFeishuApi", "Recorded", "Reply", "form_fields"]

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
IMAGES_PATH = "/open-apis/im/v1/images"
BOT_OPEN_ID = "ou_bot00000000000000000000000000"
_RESOURCE = re.compile(r"^/open-apis/im/v1/messages/([^/]+)/resources/([^/]+)$")
_MESSAGE = re.compile(r"^/open-apis/im/v1/messages/([^/]+)$")


def form_fields(request: Recorded) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data request: name → (filename, content bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


class FakeFeishuApi(FakeApi):
    """Issues numbered tenant tokens; every other Open API call needs `Authorization: Bearer <latest>`."""

    def __init__(self, app_id: str = "cli_app", app_secret: str = "app-secret") -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.issued: list[str] = []
        self.bot_open_id = BOT_OPEN_ID
        self.messages: dict[str, dict[str, Any]] = {}  # message_id → its `sender` object
        self.resources: dict[str, bytes] = {}  # file_key / image_key → bytes (any message id)
        self.chunked: dict[str, bytes] = {}  # path → bytes streamed without Content-Length
        self.uploads = 0

    def app_sender(self) -> dict[str, Any]:
        """`sender` of a message this app sent, as GET /open-apis/im/v1/messages/{id} answers it."""
        return {
            "id": self.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": "2ca1d211f64f6438",
        }

    def default_reply(self, request: Recorded) -> Reply:
        if request.path == TOKEN_PATH:
            body = request.json()
            if (body.get("app_id"), body.get("app_secret")) != (self.app_id, self.app_secret):
                return Reply(400, {"code": 10014, "msg": "app secret invalid"})
            self.issued.append(f"t-{len(self.issued) + 1}")
            return Reply(
                200, {"code": 0, "msg": "ok", "tenant_access_token": self.issued[-1], "expire": 7200}
            )
        if not request.path.startswith("/open-apis/"):
            return super().default_reply(request)
        if not self.issued or request.headers.get("authorization") != f"Bearer {self.issued[-1]}":
            return Reply(400, {"code": 99991663, "msg": "Invalid access token for authorization."})
        return self._authorized(request)

    def _authorized(self, request: Recorded) -> Reply:
        if request.path == BOT_INFO_PATH and request.method == "GET":
            bot = {
                "activate_status": 2,
                "app_name": "Helpdesk",
                "ip_white_list": [],
                "open_id": self.bot_open_id,
            }
            return Reply(200, {"code": 0, "msg": "ok", "bot": bot})
        if request.path == IMAGES_PATH and request.method == "POST":
            self.uploads += 1
            return Reply(
                200, {"code": 0, "msg": "success", "data": {"image_key": f"img_v2_up{self.uploads}"}}
            )
        if (resource := _RESOURCE.match(request.path)) and request.method == "GET":
            data = self.resources.get(resource.group(2))
            if data is None or request.query.get("type") not in ("image", "file"):
                return Reply(400, {"code": 234003, "msg": "File not in msg."})
            return Reply(200, data, {"content-type": "application/octet-stream"})
        if (found := _MESSAGE.match(request.path)) and request.method == "GET":
            sender = self.messages.get(found.group(1))
            if sender is None:
                return Reply(
                    400, {"code": 230110, "msg": "Action unavailable as the message has been deleted."}
                )
            item = {"message_id": found.group(1), "msg_type": "text", "sender": sender}
            return Reply(200, {"code": 0, "msg": "success", "data": {"items": [item]}})
        if request.path.startswith("/open-apis/im/v1/messages") and request.method == "POST":
            return Reply(
                200, {"code": 0, "msg": "success", "data": {"message_id": f"om_sent{len(self.requests)}"}}
            )
        return super().default_reply(request)

    async def _endpoint(self, request: Request) -> Response:
        data = self.chunked.get(request.url.path)
        if data is None:
            return await super()._endpoint(request)
        self.requests.append(await record(request))
        pieces = [data[i : i + 16_384] for i in range(0, len(data), 16_384)]
        return StreamingResponse(iter(pieces), media_type="application/octet-stream")
