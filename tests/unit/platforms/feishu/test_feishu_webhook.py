"""Feishu callbacks: requests produced like the platform (AES + SHA-256 signature), checked against the
official lark-oapi dispatcher as an oracle, plus forgeries, junk and fuzz."""

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.feishu import adapter as feishu
from strategies import json_values
from unit.platforms.replay import expect_window

DATA = Path(__file__).parents[3] / "data" / "feishu"
KEY, TOKEN = "test key", "v-token-example"
NOW = 1_700_000_000  # the clock of `make`, and the timestamp `produce` signs by default
CREDS = {"appId": "cli_9f0example0000", "appSecret": "s", "verificationToken": TOKEN}


def make(
    http: httpx.AsyncClient, *, encrypt: bool = True, platform: str = "feishu", now: float = NOW
) -> feishu.FeishuAdapter:
    creds = {**CREDS, "encryptKey": KEY} if encrypt else CREDS
    return feishu.create(make_context(platform, creds, http=http, clock=FakeClock(now)))


def lark_encrypt(plain: str, key: str = KEY) -> str:
    """What Feishu does with an Encrypt Key (the SDK has no encryptor): AES-256-CBC, IV prepended."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(data) + enc.finalize()).decode()


def produce(
    payload: dict[str, Any], *, key: str = KEY, ts: str = str(NOW), nonce: str = "n-1"
) -> WebhookRequest:
    body = json.dumps({"encrypt": lark_encrypt(json.dumps(payload), key)}).encode()
    sig = hashlib.sha256((ts + nonce + key).encode() + body).hexdigest()
    headers = {"x-lark-request-timestamp": ts, "x-lark-request-nonce": nonce, "x-lark-signature": sig}
    return WebhookRequest(method="POST", headers=headers, body=body)


def oracle(request: WebhookRequest, *, key: str = KEY) -> tuple[int, list[str]]:
    """Feed the same request to the official SDK dispatcher; return its status and the messages it saw."""
    import lark_oapi as lark  # ~2 s to import: paid by the worker that runs this, not at collection
    from lark_oapi.core.model import RawRequest

    seen: list[str] = []
    handler = (
        lark.EventDispatcherHandler.builder(key, TOKEN)
        .register_p2_im_message_receive_v1(lambda data: seen.append(data.event.message.message_id))
        .build()
    )
    raw = RawRequest()
    raw.uri = "/webhook/feishu/helpdesk-feishu"
    raw.body = request.body
    raw.headers = {
        "X-Lark-Request-Timestamp": request.headers.get("x-lark-request-timestamp", ""),
        "X-Lark-Request-Nonce": request.headers.get("x-lark-request-nonce", ""),
        "X-Lark-Signature": request.headers.get("x-lark-signature", ""),
    }
    return handler.do(raw).status_code, seen


def payload(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


async def test_encrypted_signed_message_accepted_by_us_and_the_sdk(http: httpx.AsyncClient) -> None:
    request = produce(payload("v2_p2p_text.json"))
    assert oracle(request) == (200, ["om_5ce6d572455d361153b7cb51da133945"])
    result = await make(http).handle_webhook(request)
    assert (result.status, result.rejected, result.body) == (200, False, b'{"msg":"success"}')
    (msg,) = result.events
    assert (msg.event_id, msg.text, msg.bot, msg.binding) == (
        "5e3702a84e847582be8db7fb73283c02",
        "明天的会议改到几点？",
        "helpdesk",
        "helpdesk-feishu",
    )
    assert msg.received_at == 1_700_000_000.0


async def test_encrypted_url_verification_answers_challenge(http: httpx.AsyncClient) -> None:
    request = produce(payload("url_verification.json"))
    request = request.model_copy(update={"headers": {}})  # Feishu's SDK does not sign the handshake
    result = await make(http).handle_webhook(request)
    assert (result.status, json.loads(result.body)) == (200, {"challenge": "ajls384kdjx98XX"})
    assert oracle(request)[0] == 200


async def test_plain_url_verification_and_message_with_token(http: httpx.AsyncClient) -> None:
    adapter = make(http, encrypt=False)
    hs = await adapter.handle_webhook(
        WebhookRequest(method="POST", body=(DATA / "url_verification.json").read_bytes())
    )
    assert hs.body == b'{"challenge": "ajls384kdjx98XX"}'
    result = await adapter.handle_webhook(
        WebhookRequest(method="POST", body=(DATA / "v1_message.json").read_bytes())
    )
    assert [e.event_id for e in result.events] == ["5226cd85b4d843dccee2e279d93f3ed3"]


async def test_go_sdk_vector_is_decrypted_and_signature_enforced(http: httpx.AsyncClient) -> None:
    # The Go SDK's ciphertext is a v2 contact event (token "v"): signed it is acked, unsigned refused.
    v = json.loads((DATA / "vectors.json").read_text())["feishu_decrypt_go_sdk"]
    creds = {**CREDS, "encryptKey": v["encrypt_key"], "verificationToken": "v"}
    adapter = feishu.create(make_context("feishu", creds, http=http, clock=FakeClock(1603977298)))
    body = json.dumps({"encrypt": v["encrypt"]}).encode()
    sig = hashlib.sha256(("1603977298" + "n" + v["encrypt_key"]).encode() + body).hexdigest()
    headers = {"x-lark-request-timestamp": "1603977298", "x-lark-request-nonce": "n", "x-lark-signature": sig}
    signed = await adapter.handle_webhook(WebhookRequest(method="POST", headers=headers, body=body))
    assert (signed.status, signed.body, signed.events) == (200, b'{"msg":"success"}', ())
    unsigned = await adapter.handle_webhook(WebhookRequest(method="POST", body=body))
    assert (unsigned.status, unsigned.reason) == (401, "bad-signature")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.model_copy(update={"headers": {**r.headers, "x-lark-signature": "0" * 64}}),
        lambda r: r.model_copy(update={"headers": {**r.headers, "x-lark-request-timestamp": "1700000001"}}),
        lambda r: r.model_copy(update={"headers": {}}),
        lambda r: r.model_copy(update={"body": r.body.replace(b'"}', b'" }')}),
    ],
    ids=["wrong-signature", "altered-timestamp", "unsigned", "altered-body"],
)
async def test_forged_events_are_rejected_by_us_and_the_sdk(http: httpx.AsyncClient, tamper: Any) -> None:
    forged = tamper(produce(payload("v2_p2p_text.json")))
    assert oracle(forged)[1] == []
    result = await make(http).handle_webhook(forged)
    assert (result.status, result.rejected, result.reason, result.events) == (401, True, "bad-signature", ())


FEISHU_RETRIES = 15 + 5 * 60 + 3600 + 6 * 3600  # the last re-push of the original request


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-FEISHU_RETRIES, True),
        (-8 * 3600, True),
        (-8 * 3600 - 1, False),
        (300, True),
        (301, False),
        (978_307_200 - NOW, False),  # 2001, signed correctly: only dedup stopped it before
        (10 * 365 * 86400, False),
    ],
    ids=["last-retry", "oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)
async def test_replay_window(http: httpx.AsyncClient, offset: int, accepted: bool) -> None:
    request = produce(payload("v2_p2p_text.json"), ts=str(NOW + offset))
    assert oracle(request)[0] == 200  # the SDK checks no window: the signature itself is valid
    result = await make(http).handle_webhook(request)
    expect_window(result, accepted)


async def test_without_encrypt_key_no_timestamp_is_signed_or_checked(http: httpx.AsyncClient) -> None:
    body = (DATA / "v1_message.json").read_bytes()
    headers = {"x-lark-request-timestamp": "978307200"}
    result = await make(http, encrypt=False).handle_webhook(
        WebhookRequest(method="POST", headers=headers, body=body)
    )
    assert (result.status, len(result.events)) == (200, 1)


async def test_wrong_verification_token_is_rejected(http: httpx.AsyncClient) -> None:
    event = payload("v2_p2p_text.json")
    event["header"]["token"] = "someone-else"
    plain = await make(http, encrypt=False).handle_webhook(
        WebhookRequest(method="POST", body=json.dumps(event).encode())
    )
    assert (plain.status, plain.rejected, plain.reason) == (401, True, "bad-token")
    hs = {"type": "url_verification", "challenge": "c", "token": "wrong"}
    encrypted = await make(http).handle_webhook(produce(hs))
    assert (encrypted.status, encrypted.reason) == (401, "bad-token")


async def test_event_without_token_needs_a_signature(http: httpx.AsyncClient) -> None:
    event = payload("v2_p2p_text.json")
    del event["header"]["token"]
    result = await make(http, encrypt=False).handle_webhook(
        WebhookRequest(method="POST", body=json.dumps(event).encode())
    )
    assert (result.status, result.reason) == (401, "bad-token")


async def test_encrypted_with_another_key_is_400(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce(payload("v2_p2p_text.json"), key="other key"))
    assert result.status == 400 and not result.events


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"not json", b'{"encrypt": 5}', b'{"encrypt": "!!"}', b"\xff\xfe"]
)
async def test_junk_bodies_get_400(http: httpx.AsyncClient, body: bytes) -> None:
    result = await make(http).handle_webhook(WebhookRequest(method="POST", body=body))
    assert result.status == 400 and not result.events


async def test_ignored_events_ack_without_events(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce(payload("v2_from_app.json")))
    assert (result.status, result.events) == (200, ())


async def test_picture_is_an_event_with_an_attachment_and_no_network(http: httpx.AsyncClient) -> None:
    result = await make(http).handle_webhook(produce(payload("v2_image.json")))
    (msg,) = result.events
    assert (msg.text, [a.kind for a in msg.attachments]) == ("", ["image"])


async def test_get_is_405(http: httpx.AsyncClient) -> None:
    assert (await make(http).handle_webhook(WebhookRequest(method="GET"))).status == 405


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"schema": st.just("2.0"), "header": json_values, "event": json_values}).map(
            lambda v: json.dumps(v).encode()
        ),
    ),
    headers=st.dictionaries(
        st.sampled_from(["x-lark-signature", "x-lark-request-timestamp", "x-lark-request-nonce", "x"]),
        st.text(),
    ),
    encrypt=st.booleans(),
)
async def test_fuzz_never_raises_or_5xx(
    http: httpx.AsyncClient, body: bytes, headers: dict[str, str], encrypt: bool
) -> None:
    result = await make(http, encrypt=encrypt).handle_webhook(
        WebhookRequest(method="POST", headers=headers, body=body)
    )
    assert result.status < 500
