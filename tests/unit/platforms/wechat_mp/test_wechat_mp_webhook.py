"""WeChat MP callbacks: doc vectors, wechatpy-produced plain and safe-mode requests, forgeries, junk."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.wechat_mp import adapter as mp
from unit.platforms.replay import expect_window

DATA = Path(__file__).parents[3] / "data" / "wechat_mp"
VECTORS = json.loads((DATA / "vectors.json").read_text())
SAFE = VECTORS["wechat_oa_safe_sample"]
PLAIN = {"appId": "wx-app", "appSecret": "wx-secret", "token": "AAAAA"}
SAFE_CREDS = {
    "appId": SAFE["appid"],
    "appSecret": "wx-secret",
    "token": SAFE["token"],
    "encodingAESKey": SAFE["encoding_aes_key"],
}
TEXT = (DATA / "text_message.xml").read_text()
NOW = 1_700_000_000  # the clock of `make`, and the timestamp the request builders sign by default


def make(http: httpx.AsyncClient, creds: dict[str, str], *, now: float = NOW) -> mp.WeChatMpAdapter:
    return mp.create(make_context("wechat-mp", creds, http=http, clock=FakeClock(now)))


def sign(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def plain_request(body: str = TEXT, token: str = "AAAAA", ts: str = str(NOW)) -> WebhookRequest:
    query = {"signature": sign(token, ts, "n-1"), "timestamp": ts, "nonce": "n-1"}
    query["openid"] = "oEXAMPLEfollower0000000000001"
    return WebhookRequest(method="POST", query=query, body=body.encode())


def outer(encrypted: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "</xml>"
    )


def safe_request(inner: str = TEXT, ts: str = str(NOW), app_id: str = SAFE_CREDS["appId"]) -> WebhookRequest:
    """A safe-mode POST as WeChat sends it, encrypted by wechatpy for `app_id` (the ReceiveId)."""
    crypto = WeChatCrypto(SAFE_CREDS["token"], SAFE_CREDS["encodingAESKey"], app_id)
    out = xmltodict.parse(crypto.encrypt_message(inner, nonce="n-2", timestamp=ts))["xml"]
    body = outer(out["Encrypt"])
    query = {
        "signature": sign(SAFE_CREDS["token"], ts, "n-2"),
        "timestamp": ts,
        "nonce": "n-2",
        "encrypt_type": "aes",
        "msg_signature": out["MsgSignature"],
    }
    return WebhookRequest(method="POST", query=query, body=body.encode())


async def test_doc_get_vector_echoes_echostr(http: httpx.AsyncClient) -> None:
    case = VECTORS["wechat_oa_plain_doc"]["cases"][1]
    query = {k: case[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    result = await make(http, {**PLAIN, "token": case["token"]}, now=int(case["timestamp"])).handle_webhook(
        WebhookRequest(method="GET", query=query)
    )
    assert (result.status, result.body, result.content_type) == (200, case["echostr"].encode(), "text/plain")


async def test_get_with_wrong_signature_is_rejected(http: httpx.AsyncClient) -> None:
    case = VECTORS["wechat_oa_plain_doc"]["cases"][1]
    query = {**{k: case[k] for k in ("timestamp", "nonce", "echostr")}, "signature": "f" * 40}
    result = await make(http, PLAIN).handle_webhook(WebhookRequest(method="GET", query=query))
    assert (result.status, result.rejected, result.reason, result.body) == (
        401,
        True,
        "bad-signature",
        b'{"error": "signature mismatch"}',
    )


async def test_plain_mode_message(http: httpx.AsyncClient) -> None:
    result = await make(http, PLAIN).handle_webhook(plain_request())
    assert (result.status, result.body, result.rejected) == (200, b"success", False)
    (msg,) = result.events
    assert (msg.event_id, msg.text, msg.platform, msg.binding) == (
        "24321987654321012",
        "今天营业吗？",
        "wechat-mp",
        "helpdesk-wechat-mp",
    )


async def test_official_safe_mode_vector(http: httpx.AsyncClient) -> None:
    body = outer(SAFE["encrypt"])
    query = {
        "timestamp": SAFE["timestamp"],
        "nonce": SAFE["nonce"],
        "encrypt_type": "aes",
        "msg_signature": SAFE["msg_signature"],
    }
    result = await make(http, SAFE_CREDS, now=int(SAFE["timestamp"])).handle_webhook(
        WebhookRequest(method="POST", query=query, body=body.encode())
    )
    assert result.status == 200 and not result.rejected
    (msg,) = result.events
    assert (msg.text, msg.event_id) == ("abcdteT", "6054768590064713728")


async def test_wechatpy_safe_mode_request(http: httpx.AsyncClient) -> None:
    result = await make(http, SAFE_CREDS).handle_webhook(safe_request())
    assert [e.text for e in result.events] == ["今天营业吗？"] and result.body == b"success"


async def test_subscribe_event_is_acked_without_events(http: httpx.AsyncClient) -> None:
    result = await make(http, PLAIN).handle_webhook(plain_request((DATA / "event_subscribe.xml").read_text()))
    assert (result.status, result.body, result.events) == (200, b"success", ())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q, b: ({**q, "msg_signature": "0" * 40}, b),
        lambda q, b: ({**q, "nonce": "n-3"}, b),
        lambda q, b: ({k: v for k, v in q.items() if k != "msg_signature"}, b),
        lambda q, b: (q, b.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")),
    ],
    ids=["wrong-signature", "altered-nonce", "no-signature", "altered-body"],
)
async def test_forged_safe_mode_requests_are_rejected(http: httpx.AsyncClient, tamper: Any) -> None:
    good = safe_request()
    query, body = tamper(dict(good.query), good.body)
    result = await make(http, SAFE_CREDS).handle_webhook(
        WebhookRequest(method="POST", query=query, body=body)
    )
    assert (result.status, result.rejected, result.reason, result.events) == (401, True, "bad-signature", ())


async def test_forged_plain_requests_are_rejected(http: httpx.AsyncClient) -> None:
    wrong_token = await make(http, PLAIN).handle_webhook(plain_request(token="not-the-token"))
    assert (wrong_token.status, wrong_token.rejected, wrong_token.events) == (401, True, ())
    unsigned = WebhookRequest(method="POST", query={"timestamp": "1", "nonce": "2"}, body=TEXT.encode())
    assert (await make(http, PLAIN).handle_webhook(unsigned)).status == 401


async def test_safe_mode_message_for_another_appid_is_401(http: httpx.AsyncClient) -> None:
    """Correctly signed with our token and key, but encrypted for another account (ReceiveId)."""
    result = await make(http, SAFE_CREDS).handle_webhook(safe_request(app_id="wx-someone-else"))
    assert (result.status, result.rejected, result.reason, result.events) == (401, True, "bad-signature", ())
    assert json.loads(result.body) == {"error": "Encrypt is not for this appId"}


async def test_safe_mode_signed_but_not_xml_inside_is_400(http: httpx.AsyncClient) -> None:
    result = await make(http, SAFE_CREDS).handle_webhook(safe_request("not xml inside"))
    assert (result.status, result.rejected, result.events) == (400, False, ())


WINDOW_CASES = pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-300, True), (-301, False), (300, True), (301, False), (978_307_200 - NOW, False), (10**9, False)],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)


@WINDOW_CASES
async def test_plain_mode_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    expect_window(await make(http, PLAIN).handle_webhook(plain_request(ts=str(NOW + offset))), accepted)


@WINDOW_CASES
async def test_safe_mode_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    expect_window(await make(http, SAFE_CREDS).handle_webhook(safe_request(ts=str(NOW + offset))), accepted)


@WINDOW_CASES
async def test_get_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    case = VECTORS["wechat_oa_plain_doc"]["cases"][1]
    query = {k: case[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    adapter = make(http, PLAIN, now=int(case["timestamp"]) - offset)
    result = await adapter.handle_webhook(WebhookRequest(method="GET", query=query))
    if accepted:
        assert (result.status, result.body) == (200, case["echostr"].encode())
    else:
        assert (result.status, result.rejected, result.reason) == (401, True, "stale-timestamp")
        assert case["echostr"].encode() not in result.body


async def test_encrypted_request_without_key_is_400(http: httpx.AsyncClient) -> None:
    result = await make(http, PLAIN).handle_webhook(safe_request())
    assert result.status == 400 and not result.events


@pytest.mark.parametrize("body", [b"", b"junk", b'{"a": 1}', b'<!DOCTYPE x [<!ENTITY y "z">]><xml>&y;</xml>'])
async def test_junk_bodies_get_400(http: httpx.AsyncClient, body: bytes) -> None:
    request = plain_request()
    result = await make(http, PLAIN).handle_webhook(
        WebhookRequest(method="POST", query=request.query, body=body)
    )
    assert result.status == 400 and not result.events


def test_missing_credentials_fail_at_create() -> None:
    with pytest.raises(ValueError, match="credentials missing token"):
        mp.create(make_context("wechat-mp", {**PLAIN, "token": ""}, http=None))
    with pytest.raises(ValueError, match="encodingAESKey invalid"):
        mp.create(make_context("wechat-mp", {**PLAIN, "encodingAESKey": "x"}, http=None))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "HEAD"]),
    query=st.dictionaries(
        st.sampled_from(["signature", "msg_signature", "timestamp", "nonce", "echostr", "encrypt_type"]),
        st.text(),
    ),
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=50)),
    body=st.binary(max_size=400),
    safe=st.booleans(),
)
async def test_fuzz_never_raises_or_5xx(
    http: httpx.AsyncClient,
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    safe: bool,
) -> None:
    adapter = make(http, SAFE_CREDS if safe else PLAIN)
    result = await adapter.handle_webhook(
        WebhookRequest(method=method, query=query, headers=headers, body=body)
    )
    assert result.status < 500
