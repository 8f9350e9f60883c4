"""Feishu crypto against the published vectors, and recorded payloads → InboundMessage."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.feishu import convert, crypto

DATA = Path(__file__).parents[3] / "data" / "feishu"
VECTORS = json.loads((DATA / "vectors.json").read_text())


def load(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((DATA / name).read_text())


def test_doc_decrypt_vector() -> None:
    v = VECTORS["feishu_decrypt_doc"]
    assert crypto.decrypt(v["encrypt_key"], v["encrypt"]) == v["plaintext"]


def test_go_sdk_decrypt_vector() -> None:
    v = VECTORS["feishu_decrypt_go_sdk"]
    payload = json.loads(crypto.decrypt(v["encrypt_key"], v["encrypt"]))
    assert payload["challenge"] == "1212"
    assert convert.envelope(payload).event_id in ("", "f7984f25108f8137722bb63cee927e66")
    assert "f7984f25108f8137722bb63cee927e66" in json.dumps(payload)


def test_v1_page_decrypt_vector() -> None:
    v = VECTORS["feishu_decrypt_doc_v1_event"]
    payload = json.loads(crypto.decrypt(v["encrypt_key"], v["encrypt"]))
    env = convert.envelope(payload)
    assert (env.version, env.event_id, payload["type"]) == (
        "1",
        "5226cd85b4d843dccee2e279d93f3ed3",
        "event_callback",
    )


def test_signature_vector() -> None:
    v = VECTORS["feishu_signature_computed"]
    sig = crypto.signature(v["timestamp"], v["nonce"], v["encrypt_key"], v["body"].encode())
    assert sig == v["x_lark_signature"]
    assert crypto.signature_ok(sig.upper(), v["timestamp"], v["nonce"], v["encrypt_key"], v["body"].encode())
    assert not crypto.signature_ok(
        sig, v["timestamp"], v["nonce"], v["encrypt_key"], v["body"].encode() + b" "
    )


def test_wrong_key_is_a_crypto_error() -> None:
    with pytest.raises(crypto.FeishuCryptoError):
        crypto.decrypt("not the key", VECTORS["feishu_decrypt_doc"]["encrypt"])


@given(st.text(max_size=120))
def test_decrypt_of_arbitrary_text_raises_only_crypto_error(value: str) -> None:
    try:
        crypto.decrypt("test key", value)
    except crypto.FeishuCryptoError:
        return


def to_inbound(name: str, platform: str = "feishu"):  # type: ignore[no-untyped-def]
    return convert.to_inbound(load(name), Origin(bot="b", platform=platform, binding="bf", received_at=9.0))


def test_v2_p2p_text() -> None:
    msg = to_inbound("v2_p2p_text.json")
    assert msg is not None
    assert msg.event_id == "5e3702a84e847582be8db7fb73283c02"
    assert (msg.chat_id, msg.user_id) == (
        "oc_5ce6d572455d361153b7xx51da133945",
        "ou_84aad35d084aa403a838cf73ee18467",
    )
    assert (msg.text, msg.is_group, msg.mentioned, msg.received_at) == (
        "明天的会议改到几点？",
        False,
        True,
        9.0,
    )
    assert msg.reply_context == {
        "message_id": "om_5ce6d572455d361153b7cb51da133945",
        "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
        "open_id": "ou_84aad35d084aa403a838cf73ee18467",
    }


def test_v2_group_mention_strips_bot_keeps_other_names() -> None:
    msg = to_inbound("v2_group_mention.json", platform="lark")
    assert msg is not None
    assert (msg.text, msg.is_group, msg.mentioned, msg.platform) == ("帮 @李四 总结一下", True, True, "lark")


def test_v1_message() -> None:
    msg = to_inbound("v1_message.json")
    assert msg is not None
    assert (msg.event_id, msg.text, msg.is_group, msg.mentioned) == (
        "5226cd85b4d843dccee2e279d93f3ed3",
        "请假怎么申请",
        True,
        True,
    )
    assert msg.reply_context["message_id"] == "om_v1message0000000000000000000"


@pytest.mark.parametrize("name", ["v2_from_app.json", "url_verification.json"])
def test_ignored_payloads(name: str) -> None:
    assert to_inbound(name) is None


def test_broken_content_is_ignored() -> None:
    payload = load("v2_p2p_text.json")
    payload["event"]["message"]["content"] = "{not json"
    assert (
        convert.to_inbound(payload, Origin(bot="b", platform="feishu", binding="bf", received_at=0)) is None
    )
