"""`announce` creates one text message in a group chat (`receive_id_type=chat_id`) with the tenant
token, with no message to reply to."""

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.feishu_api import FakeFeishuApi, Reply
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.feishu import adapter as feishu

MESSAGES = "/open-apis/im/v1/messages"
CHAT = "oc_5ad11d72b830411d72b836c20"


@pytest.fixture
def api() -> Iterator[FakeFeishuApi]:
    with FakeFeishuApi(app_id="cli_app", app_secret="app-secret") as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(api: FakeFeishuApi, http: httpx.AsyncClient) -> feishu.FeishuAdapter:
    ctx = make_adapter_context(
        "feishu",
        credentials={"appId": "cli_app", "appSecret": "app-secret", "verificationToken": "v"},
        settings={"apiBase": api.url},
        http=http,
    )
    return feishu.create(ctx)


async def test_announce_creates_a_text_message_in_the_chat(
    api: FakeFeishuApi, http_client: httpx.AsyncClient
) -> None:
    await make(api, http_client).announce(CHAT, "canary promoted: helpdesk r42")
    (call,) = api.calls(MESSAGES)
    assert call.query == {"receive_id_type": "chat_id"}
    assert call.headers["authorization"] == f"Bearer {api.issued[-1]}"
    body = call.json()
    assert body == {"receive_id": CHAT, "msg_type": "text", "content": body["content"]}  # no dedup uuid
    assert json.loads(body["content"]) == {"text": "canary promoted: helpdesk r42"}


async def test_a_chat_the_bot_is_not_in_is_a_permanent_error(
    api: FakeFeishuApi, http_client: httpx.AsyncClient
) -> None:
    api.script(MESSAGES, Reply(400, {"code": 230002, "msg": "Bot/User can NOT be out of the chat."}))
    with pytest.raises(PermanentSendError, match="code 230002") as raised:
        await make(api, http_client).announce(CHAT, "canary aborted")
    assert "app-secret" not in str(raised.value) and "t-1" not in str(raised.value)
