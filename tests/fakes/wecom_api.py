"""Fake WeCom API (gettoken, message/send, temporary media) on 127.0.0.1; see `fakes.wechat_api.FakeApi`."""

from __future__ import annotations

from fakes.wechat_api import MEDIA_PATH, UPLOAD_PATH, FakeApi, MediaStore, Recorded, Reply

__all__ = ["FakeWeComApi", "Recorded", "Reply"]


class FakeWeComApi(FakeApi):
    """Issues numbered tokens for the right corp/secret; `message/send` and the media API accept only
    the latest one."""

    def __init__(self, corp_id: str = "ww-corp", secret: str = "app-secret") -> None:
        super().__init__()
        self.corp_id, self.secret = corp_id, secret
        self.issued: list[str] = []
        self.media = MediaStore("wecom", errcode_on_success=True)

    def default_reply(self, request: Recorded) -> Reply:
        if request.path == "/cgi-bin/gettoken":
            q = request.query
            if (q.get("corpid"), q.get("corpsecret")) != (self.corp_id, self.secret):
                return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            self.issued.append(f"wecom-token-{len(self.issued) + 1}")
            return Reply(
                200, {"errcode": 0, "errmsg": "ok", "access_token": self.issued[-1], "expires_in": 7200}
            )
        stale = not self.issued or request.query.get("access_token") != self.issued[-1]
        if request.path in ("/cgi-bin/message/send", UPLOAD_PATH, MEDIA_PATH) and stale:
            return Reply(200, {"errcode": 42001, "errmsg": "access_token expired"})
        if request.path == "/cgi-bin/message/send":
            return Reply(200, {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{len(self.requests)}"})
        if request.path == UPLOAD_PATH:
            return self.media.upload(request)
        if request.path == MEDIA_PATH:
            return self.media.get(request)
        return super().default_reply(request)
