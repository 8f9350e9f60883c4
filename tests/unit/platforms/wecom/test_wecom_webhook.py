"""WeCom callbacks: official vectors, wechatpy-produced requests, forgeries and junk."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.wecom import adapter as wecom
from unit.platforms.replay import expect_window

DATA = Path(__file__).parents[3] / "data" / "wecom"
VECTORS = json.loads((DATA / "vectors.json").read_text())
B = VECTORS["wecom_official_sample_B"]
NOW = 1_700_000_000  # the clock of `make`, and the timestamp `produce` signs by default
CREDS = {
    "corpId": B["receive_id"],
    "agentId": "1000002",
    "secret": "app-secret",
    "token": B["token"],
    "encodingAESKey": B["encoding_aes_key"],
}


def make(http: httpx.AsyncClient, *, now: float = NOW, **overrides: str) -> wecom.WeComAdapter:
    return wecom.create(make_context("wecom", {**CREDS, **overrides}, http=http, clock=FakeClock(now)))


def outer_body(encrypted: str, corp: str = B["receive_id"]) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()


def produce(
    inner: str, *, nonce: str = "1597212914", ts: str = str(NOW), corp: str = CREDS["corpId"]
) -> WebhookRequest:
    """A POST callback as WeCom sends it, built with wechatpy's encryptor (for `corp` as ReceiveId)."""
    crypto = WeChatCrypto(CREDS["token"], CREDS["encodingAESKey"], corp)
    out = xmltodict.parse(crypto.encrypt_message(inner, nonce=nonce, timestamp=ts))["xml"]
    query = {"msg_signature": out["MsgSignature"], "timestamp": ts, "nonce": nonce}
    return WebhookRequest(method="POST", query=query, body=outer_body(out["Encrypt"]))


@pytest.mark.parametrize(
    "name", ["wecom_official_sample_A", "wecom_official_sample_B", "wecom_wechatpy_tests"]
)
async def test_official_get_vectors_answer_plaintext(http: httpx.AsyncClient, name: str) -> None:
    v = VECTORS[name]
    creds = {"token": v["token"], "encodingAESKey": v["encoding_aes_key"]}
    g = v["get"]
    adapter = make(http, now=int(g["timestamp"]), corpId=v.get("receive_id") or v["corp_id"], **creds)
    query = {"msg_signature": g["msg_signature"], "timestamp": g["timestamp"], "nonce": g["nonce"]}
    result = await adapter.handle_webhook(
        WebhookRequest(method="GET", query={**query, "echostr": g["echostr"]})
    )
    assert (result.status, result.body, result.rejected) == (200, g["reply"].encode(), False)
    assert result.content_type == "text/plain"


@pytest.mark.parametrize(
    "name", ["wecom_official_sample_A", "wecom_official_sample_B", "wecom_wechatpy_tests"]
)
async def test_official_post_vectors_are_accepted(http: httpx.AsyncClient, name: str) -> None:
    v = VECTORS[name]
    corp = v.get("receive_id") or v["corp_id"]
    p = v["post"]
    adapter = make(
        http, now=int(p["timestamp"]), corpId=corp, token=v["token"], encodingAESKey=v["encoding_aes_key"]
    )
    query = {"msg_signature": p["msg_signature"], "timestamp": p["timestamp"], "nonce": p["nonce"]}
    result = await adapter.handle_webhook(
        WebhookRequest(method="POST", query=query, body=outer_body(p["encrypt"]))
    )
    assert (result.status, result.body, result.rejected) == (200, b"", False)
    assert len(result.events) == 1
    expected_text = {"wecom_official_sample_A": "hello", "wecom_official_sample_B": "你好"}.get(name, "test")
    assert result.events[0].text == expected_text


async def test_official_vector_b_event_fields(http: httpx.AsyncClient) -> None:
    p = B["post"]
    query = {"msg_signature": p["msg_signature"], "timestamp": p["timestamp"], "nonce": p["nonce"]}
    result = await make(http, now=int(p["timestamp"])).handle_webhook(
        WebhookRequest(method="POST", query=query, body=outer_body(p["encrypt"]))
    )
    (msg,) = result.events
    assert (msg.event_id, msg.user_id, msg.chat_id) == ("1456453720", "ChenJiaShun", "ChenJiaShun")
    assert (msg.bot, msg.platform, msg.binding) == ("helpdesk", "wecom", "helpdesk-wecom")
    assert msg.received_at == int(p["timestamp"])
    assert msg.reply_context["touser"] == "ChenJiaShun"


async def test_wechatpy_produced_message_is_accepted(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce((DATA / "text_message.xml").read_text()))
    assert result.status == 200 and not result.rejected
    assert [e.text for e in result.events] == ["帮我查一下报销流程"]


async def test_wechatpy_produced_echostr_is_answered(http: httpx.AsyncClient) -> None:
    crypto = WeChatCrypto(CREDS["token"], CREDS["encodingAESKey"], CREDS["corpId"])
    echostr = PrpCrypto(crypto.key).encrypt("5927782489442352469", CREDS["corpId"])
    signer = WeChatSigner()
    signer.add_data(CREDS["token"], "1700000000", "nonce-1", echostr)
    query = {
        "msg_signature": signer.signature,
        "timestamp": "1700000000",
        "nonce": "nonce-1",
        "echostr": echostr,
    }
    result = await make(http).handle_webhook(WebhookRequest(method="GET", query=query))
    assert (result.status, result.body) == (200, b"5927782489442352469")


async def test_event_callback_acks_without_events(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce((DATA / "event_enter_agent.xml").read_text()))
    assert (result.status, result.events, result.rejected) == (200, (), False)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q, b: ({**q, "msg_signature": "0" * 40}, b),
        lambda q, b: ({**q, "timestamp": str(NOW + 1)}, b),
        lambda q, b: ({k: v for k, v in q.items() if k != "msg_signature"}, b),
        lambda q, b: (q, b.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")),
    ],
    ids=["wrong-signature", "altered-timestamp", "no-signature", "altered-body"],
)
async def test_forged_posts_are_rejected(http: httpx.AsyncClient, tamper: Any) -> None:
    good = produce((DATA / "text_message.xml").read_text())
    query, body = tamper(dict(good.query), good.body)
    result = await make(http).handle_webhook(WebhookRequest(method="POST", query=query, body=body))
    assert (result.status, result.rejected, result.reason, result.events) == (401, True, "bad-signature", ())
    assert json.loads(result.body) == {"error": "signature mismatch"}


async def test_wrong_token_is_rejected(http: httpx.AsyncClient) -> None:
    result = await make(http, token="another-token").handle_webhook(
        produce((DATA / "text_message.xml").read_text())
    )
    assert (result.status, result.rejected) == (401, True)


async def test_message_for_another_corp_is_refused(http: httpx.AsyncClient) -> None:
    v = VECTORS["wecom_wechatpy_tests"]
    g = v["get"]
    adapter = make(
        http,
        now=int(g["timestamp"]),
        corpId="ww-not-this-one",
        token=v["token"],
        encodingAESKey=v["encoding_aes_key"],
    )
    query = {"msg_signature": g["msg_signature"], "timestamp": g["timestamp"], "nonce": g["nonce"]}
    result = await adapter.handle_webhook(
        WebhookRequest(method="GET", query={**query, "echostr": g["echostr"]})
    )
    assert (result.status, result.rejected, result.reason) == (401, True, "bad-signature")
    assert g["reply"].encode() not in result.body


async def test_post_for_another_receive_id_is_401(http: httpx.AsyncClient) -> None:
    """Correctly signed with our token and key, but encrypted for another corp (ReceiveId)."""
    request = produce((DATA / "text_message.xml").read_text(), corp="ww-someone-else")
    result = await make(http).handle_webhook(request)
    assert (result.status, result.rejected, result.reason, result.events) == (401, True, "bad-signature", ())
    assert json.loads(result.body) == {"error": "Encrypt is not for this corpId"}
    ours = await make(http).handle_webhook(produce((DATA / "text_message.xml").read_text()))
    assert len(ours.events) == 1  # the same message encrypted for us: only the ReceiveId differed


async def test_signed_post_that_is_not_xml_inside_is_400(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce("not xml inside"))
    assert (result.status, result.rejected, result.events) == (400, False, ())


WINDOW_CASES = pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-300, True), (-301, False), (300, True), (301, False), (978_307_200 - NOW, False), (10**9, False)],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)


@WINDOW_CASES
async def test_post_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    request = produce((DATA / "text_message.xml").read_text(), ts=str(NOW + offset))
    result = await make(http).handle_webhook(request)
    expect_window(result, accepted)


@WINDOW_CASES
async def test_get_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    g = B["get"]
    query = {"msg_signature": g["msg_signature"], "timestamp": g["timestamp"], "nonce": g["nonce"]}
    request = WebhookRequest(method="GET", query={**query, "echostr": g["echostr"]})
    result = await make(http, now=int(g["timestamp"]) - offset).handle_webhook(request)
    if accepted:
        assert (result.status, result.body) == (200, g["reply"].encode())
    else:
        assert (result.status, result.rejected, result.reason) == (401, True, "stale-timestamp")
        assert g["reply"].encode() not in result.body


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"{}", b"<xml><Nothing/></xml>", b'<!DOCTYPE a [<!ENTITY b "c">]><xml>&b;</xml>'],
)
async def test_junk_bodies_get_400(http: httpx.AsyncClient, body: bytes) -> None:
    query = {"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"}
    result = await make(http).handle_webhook(WebhookRequest(method="POST", query=query, body=body))
    assert result.status == 400 and not result.events


async def test_get_without_parameters_is_400_and_put_is_405(http: httpx.AsyncClient) -> None:
    assert (await make(http).handle_webhook(WebhookRequest(method="GET"))).status == 400
    assert (await make(http).handle_webhook(WebhookRequest(method="PUT"))).status == 405


def test_bad_credentials_fail_at_create_without_leaking() -> None:
    with pytest.raises(ValueError, match="credentials missing secret") as info:
        wecom.create(make_context("wecom", {**CREDS, "secret": ""}, http=None))
    assert CREDS["token"] not in str(info.value)
    with pytest.raises(ValueError, match="encodingAESKey invalid"):
        wecom.create(make_context("wecom", {**CREDS, "encodingAESKey": "short"}, http=None))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    query=st.dictionaries(
        st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]), st.text()
    ),
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=50)),
    body=st.one_of(st.binary(max_size=400), st.builds(outer_body, st.text(max_size=200))),
)
async def test_fuzz_never_raises_or_5xx(
    http: httpx.AsyncClient, method: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    request = WebhookRequest(method=method, query=query, headers=headers, body=body)
    result = await make(http).handle_webhook(request)
    assert result.status < 500
