"""`announce` sends one `sampleText` robot message to a group (`groupMessages/send`): without an inbound
message there is no sessionWebhook. Both modes (HTTP callbacks, Stream) announce alike."""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.dingtalk_api import FakeDingTalk, Reply
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.errors import PermanentSendError

GROUP_SEND = "/v1.0/robot/groupMessages/send"
CHAT = "cidPW4Kc1pQf8Ee0XMdY1KZ5w=="


@pytest.fixture
def api() -> Iterator[FakeDingTalk]:
    with FakeDingTalk(app_key="ding-key", app_secret="ding-secret") as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(api: FakeDingTalk, http: httpx.AsyncClient, **settings: Any) -> Any:
    ctx = make_adapter_context(
        "dingtalk",
        credentials={"appKey": "ding-key", "appSecret": "ding-secret"},
        settings={"apiBase": api.url, **settings},
        http=http,
    )
    return dingtalk.create(ctx)


@pytest.mark.parametrize(
    ("settings", "robot_code"),
    [
        ({}, "ding-key"),  # an enterprise-internal app's robot: robotCode is the AppKey
        ({"mode": "stream", "robotCode": "ding-robot"}, "ding-robot"),
    ],
)
async def test_announce_sends_a_robot_text_message_to_the_group(
    api: FakeDingTalk, http_client: httpx.AsyncClient, settings: dict[str, str], robot_code: str
) -> None:
    await make(api, http_client, **settings).announce(CHAT, "canary promoted: helpdesk r42")
    (call,) = api.calls(GROUP_SEND)
    assert call.headers["x-acs-dingtalk-access-token"] == api.issued_tokens[-1]
    body = call.json()
    assert {k: v for k, v in body.items() if k != "msgParam"} == {
        "robotCode": robot_code,
        "msgKey": "sampleText",
        "openConversationId": CHAT,
    }
    assert json.loads(body["msgParam"]) == {"content": "canary promoted: helpdesk r42"}


async def test_a_refused_group_is_a_permanent_error(
    api: FakeDingTalk, http_client: httpx.AsyncClient
) -> None:
    api.script(GROUP_SEND, Reply(400, {"code": "param.invalid", "message": "openConversationId is invalid"}))
    with pytest.raises(PermanentSendError, match=r"errcode param\.invalid") as raised:
        await make(api, http_client).announce(CHAT, "canary aborted")
    assert "ding-secret" not in str(raised.value) and "ding-token" not in str(raised.value)
