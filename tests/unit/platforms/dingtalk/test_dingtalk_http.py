"""DingTalk robot HTTP callbacks: sign vector, conversion (checked against the official SDK's parser),
signed/forged/stale requests, junk and fuzz."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from dingtalk_stream import ChatbotMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.dingtalk import convert, crypto
from strategies import json_values
from unit.platforms.replay import expect_window

DATA = Path(__file__).parents[3] / "data" / "dingtalk"
VECTORS = json.loads((DATA / "vectors.json").read_text())
SECRET = "this is secret"
NOW_MS = 1_700_000_000_000


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def make(http: httpx.AsyncClient, **settings: Any) -> Any:
    ctx = make_context(
        "dingtalk",
        {"appKey": "ding-key", "appSecret": SECRET},
        http=http,
        settings=settings,
        clock=FakeClock(NOW_MS / 1000),
    )
    return dingtalk.create(ctx)


def signed(body: bytes, ts_ms: int = NOW_MS, secret: str = SECRET) -> WebhookRequest:
    headers = {
        "timestamp": str(ts_ms),
        "sign": crypto.sign(str(ts_ms), secret),
        "content-type": "application/json",
    }
    return WebhookRequest(method="POST", headers=headers, body=body)


def test_sign_vector() -> None:
    v = VECTORS["dingtalk_robot_sign_computed"]
    assert crypto.sign(v["timestamp"], v["secret"]) == v["sign"]
    assert crypto.sign_ok(v["sign"], v["timestamp"], v["secret"])


@pytest.mark.parametrize(
    ("offset_ms", "accepted"),
    [
        (-3_600_000, True),
        (-3_600_001, False),
        (3_600_000, True),
        (3_600_001, False),
        (978_307_200_000 - NOW_MS, False),  # 2001
        (-NOW_MS + NOW_MS // 1000, False),  # seconds where DingTalk sends milliseconds
    ],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "seconds"],
)
async def test_window_is_one_hour_either_way(http: httpx.AsyncClient, offset_ms: int, accepted: bool) -> None:
    result = await make(http).handle_webhook(
        signed((DATA / "group_text.json").read_bytes(), ts_ms=NOW_MS + offset_ms)
    )
    expect_window(result, accepted)


@pytest.mark.parametrize("name", ["group_text.json", "single_text.json"])
def test_conversion_agrees_with_the_official_sdk_parser(name: str) -> None:
    payload = load(name)
    sdk = ChatbotMessage.from_dict(payload)
    msg = convert.to_inbound(payload, Origin(bot="b", platform="dingtalk", binding="bd", received_at=1.0))
    assert msg is not None
    assert (msg.event_id, msg.chat_id, msg.user_id) == (
        sdk.message_id,
        sdk.conversation_id,
        sdk.sender_staff_id,
    )
    assert msg.text == sdk.text.content.strip()
    assert msg.is_group == (sdk.conversation_type == "2")
    assert msg.user_name == sdk.sender_nick
    assert msg.reply_context["session_webhook"] == sdk.session_webhook
    assert msg.reply_context["session_webhook_expires_ms"] == sdk.session_webhook_expired_time


def test_group_message_fields() -> None:
    msg = convert.to_inbound(
        load("group_text.json"), Origin(bot="b", platform="dingtalk", binding="bd", received_at=1.0)
    )
    assert msg is not None
    assert (msg.text, msg.is_group, msg.mentioned, msg.user_id) == ("今天谁值班？", True, True, "manager1234")
    assert msg.reply_context["robot_code"] == "dingEXAMPLErobot0000"


async def test_signed_callback_is_accepted(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(signed((DATA / "group_text.json").read_bytes()))
    assert (result.status, result.rejected) == (200, False)
    (msg,) = result.events
    assert (msg.event_id, msg.bot, msg.binding, msg.received_at) == (
        "msgEXAMPLE0000000000000000000001",
        "helpdesk",
        "helpdesk-dingtalk",
        NOW_MS / 1000,
    )


async def test_picture_is_an_event_with_an_attachment(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(signed((DATA / "picture.json").read_bytes()))
    (msg,) = result.events
    assert (result.status, msg.text, [a.kind for a in msg.attachments]) == (200, "", ["image"])


@pytest.mark.parametrize(
    ("request_", "status", "reason"),
    [
        (signed(b"{}", secret="wrong secret"), 401, "bad-signature"),
        (signed(b"{}", ts_ms=NOW_MS - 3_600_001), 401, "stale-timestamp"),
        (signed(b"{}", ts_ms=NOW_MS + 7_200_000), 401, "stale-timestamp"),
        (WebhookRequest(method="POST", headers={"timestamp": str(NOW_MS)}, body=b"{}"), 401, "bad-signature"),
        (WebhookRequest(method="POST", body=b"{}"), 401, "bad-signature"),
    ],
    ids=["wrong-secret", "stale", "future", "no-sign", "no-headers"],
)
async def test_forged_callbacks_are_rejected(
    http: httpx.AsyncClient, request_: WebhookRequest, status: int, reason: str
) -> None:
    result = await make(http).handle_webhook(request_)
    assert (result.status, result.rejected, result.reason, result.events) == (status, True, reason, ())


async def test_sign_from_another_timestamp_is_rejected(http: httpx.AsyncClient) -> None:
    good = signed(b"{}")
    forged = good.model_copy(update={"headers": {**good.headers, "timestamp": str(NOW_MS + 1)}})
    assert (await make(http).handle_webhook(forged)).reason == "bad-signature"


@pytest.mark.parametrize("body", [b"", b"[1]", b"nope", b"\x00\xff"])
async def test_junk_signed_bodies_get_400(http: httpx.AsyncClient, body: bytes) -> None:
    result = await make(http).handle_webhook(signed(body))
    assert result.status == 400 and not result.events


async def test_stream_binding_refuses_http(http: httpx.AsyncClient) -> None:
    result = await make(http, mode="stream").handle_webhook(signed((DATA / "group_text.json").read_bytes()))
    assert (result.status, result.events) == (404, ())


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "msgtype": st.just("text"),
                "text": json_values,
                "msgId": json_values,
                "conversationId": json_values,
                "senderStaffId": json_values,
            }
        ).map(lambda v: json.dumps(v).encode()),
    ),
    headers=st.dictionaries(st.sampled_from(["timestamp", "sign", "x"]), st.text(max_size=30)),
    sign_it=st.booleans(),
)
async def test_fuzz_never_raises_or_5xx(
    http: httpx.AsyncClient, body: bytes, headers: dict[str, str], sign_it: bool
) -> None:
    request = signed(body) if sign_it else WebhookRequest(method="POST", headers=headers, body=body)
    result = await make(http).handle_webhook(request)
    assert result.status < 500
