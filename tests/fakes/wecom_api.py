"""Fake WeCom API (gettoken + message/send) on 127.0.0.1; see `fakes.wechat_api.FakeApi`."""

from __future__ import annotations

from fakes.wechat_api import FakeApi, Recorded, Reply

__all__ = ["FakeWeComApi", "Recorded", "Reply"]


class FakeWeComApi(FakeApi):
    """Issues numbered tokens for the right corp/secret; `message/send` accepts only the latest one."""

    def __init__(self, corp_id: str = "ww-corp", secret: str = "app-secret") -> None:
        super().__init__()
        self.corp_id, self.secret = corp_id, secret
        self.issued: list[str] = []

    def default_reply(self, request: Recorded) -> Reply:
        if request.path == "/cgi-bin/gettoken":
            q = request.query
            if (q.get("corpid"), q.get("corpsecret")) != (self.corp_id, self.secret):
                return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            self.issued.append(f"wecom-token-{len(self.issued) + 1}")
            return Reply(
                200, {"errcode": 0, "errmsg": "ok", "access_token": self.issued[-1], "expires_in": 7200}
            )
        if request.path == "/cgi-bin/message/send":
            if not self.issued or request.query.get("access_token") != self.issued[-1]:
                return Reply(200, {"errcode": 42001, "errmsg": "access_token expired"})
            return Reply(200, {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{len(self.requests)}"})
        return super().default_reply(request)
