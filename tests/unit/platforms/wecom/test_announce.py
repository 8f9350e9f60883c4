"""`announce` sends one app text message (`message/send`) to a member, with no message to reply to."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.wecom_api import FakeWeComApi, Reply
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.wecom import adapter as wecom

SEND = "/cgi-bin/message/send"
CREDS = {
    "corpId": "ww-corp",
    "agentId": "1000002",
    "secret": "app-secret",
    "token": "cb-token",
    "encodingAESKey": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}


@pytest.fixture
def api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi(corp_id="ww-corp", secret="app-secret") as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(api: FakeWeComApi, http: httpx.AsyncClient) -> wecom.WeComAdapter:
    ctx = make_adapter_context("wecom", credentials=CREDS, settings={"apiBase": api.url}, http=http)
    return wecom.create(ctx)


async def test_announce_sends_an_app_message_to_the_member(
    api: FakeWeComApi, http_client: httpx.AsyncClient
) -> None:
    await make(api, http_client).announce("ZhangSan|LiSi", "canary promoted: helpdesk r42")
    (call,) = api.calls(SEND)
    assert call.query["access_token"] == api.issued[-1]
    assert call.json() == {
        "touser": "ZhangSan|LiSi",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "canary promoted: helpdesk r42"},
    }


async def test_an_unknown_member_is_a_permanent_error(
    api: FakeWeComApi, http_client: httpx.AsyncClient
) -> None:
    api.script(SEND, Reply(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}))
    with pytest.raises(PermanentSendError, match="errcode 81013") as raised:
        await make(api, http_client).announce("Nobody", "canary aborted")
    assert "app-secret" not in str(raised.value) and "wecom-token" not in str(raised.value)
