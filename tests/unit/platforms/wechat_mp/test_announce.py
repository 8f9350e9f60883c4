"""`announce` sends one customer-service text message to a follower, with no message to reply to."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.wechat_api import FakeWeChatApi, Reply
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.wechat_mp import adapter as mp

SEND = "/cgi-bin/message/custom/send"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def api() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi(app_id="wx-app", secret="wx-secret") as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(api: FakeWeChatApi, http: httpx.AsyncClient) -> mp.WeChatMpAdapter:
    ctx = make_adapter_context(
        "wechat-mp",
        credentials={"appId": "wx-app", "appSecret": "wx-secret", "token": "cb-token"},
        settings={"apiBase": api.url},
        http=http,
    )
    return mp.create(ctx)


async def test_announce_sends_a_customer_service_message(
    api: FakeWeChatApi, http_client: httpx.AsyncClient
) -> None:
    await make(api, http_client).announce(OPENID, "canary promoted: helpdesk r42")
    (call,) = api.calls(SEND)
    assert call.query["access_token"] == api.issued[-1]
    assert call.json() == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "canary promoted: helpdesk r42"},
    }


async def test_a_follower_silent_for_48_hours_is_a_permanent_error(
    api: FakeWeChatApi, http_client: httpx.AsyncClient
) -> None:
    api.script(SEND, Reply(200, {"errcode": 45015, "errmsg": "response out of time limit"}))
    with pytest.raises(PermanentSendError, match="errcode 45015") as raised:
        await make(api, http_client).announce(OPENID, "canary aborted")
    assert "wx-secret" not in str(raised.value) and "mp-token" not in str(raised.value)
