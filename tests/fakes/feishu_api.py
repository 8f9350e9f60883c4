"""Fake Feishu/Lark Open API (tenant token, message reply/create) on 127.0.0.1; see `FakeApi`."""

from __future__ import annotations

from fakes.wechat_api import FakeApi, Recorded, Reply

__all__ = ["FakeFeishuApi", "Recorded", "Reply"]

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


class FakeFeishuApi(FakeApi):
    """Issues numbered tenant tokens; IM calls need `Authorization: Bearer <latest token>`."""

    def __init__(self, app_id: str = "cli_app", app_secret: str = "app-secret") -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.issued: list[str] = []

    def default_reply(self, request: Recorded) -> Reply:
        if request.path == TOKEN_PATH:
            body = request.json()
            if (body.get("app_id"), body.get("app_secret")) != (self.app_id, self.app_secret):
                return Reply(400, {"code": 10014, "msg": "app secret invalid"})
            self.issued.append(f"t-{len(self.issued) + 1}")
            return Reply(
                200, {"code": 0, "msg": "ok", "tenant_access_token": self.issued[-1], "expire": 7200}
            )
        if request.path.startswith("/open-apis/im/v1/messages"):
            if not self.issued or request.headers.get("authorization") != f"Bearer {self.issued[-1]}":
                return Reply(400, {"code": 99991663, "msg": "Invalid access token for authorization."})
            return Reply(
                200, {"code": 0, "msg": "success", "data": {"message_id": f"om_sent{len(self.requests)}"}}
            )
        return super().default_reply(request)
