"""The shared WXBizMsgCrypt layout against all official vector sets (WeCom A/B/C, WeChat MP, DingTalk)."""

import base64
import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import PrpCrypto

from parley_runtime.platforms.common import wxcrypto

DATA = Path(__file__).parents[3] / "data"
WECOM = json.loads((DATA / "wecom" / "vectors.json").read_text())
MP = json.loads((DATA / "wechat_mp" / "vectors.json").read_text())
DING = json.loads((DATA / "dingtalk" / "vectors.json").read_text())


@pytest.mark.parametrize(
    "name", ["wecom_official_sample_A", "wecom_official_sample_B", "wecom_wechatpy_tests"]
)
def test_wecom_vectors_get_and_post(name: str) -> None:
    v = WECOM[name]
    crypt = wxcrypto.WxCrypt(v["token"], v["encoding_aes_key"], v.get("receive_id") or v["corp_id"])
    get, post = v["get"], v["post"]
    assert crypt.signature(get["timestamp"], get["nonce"], get["echostr"]) == get["msg_signature"]
    assert crypt.open(get["echostr"]).decode() == get["reply"]
    assert crypt.signature_ok(post["msg_signature"], post["timestamp"], post["nonce"], post["encrypt"])
    plain = crypt.open(post["encrypt"]).decode()
    assert post.get("plaintext", post.get("plaintext_contains")) in plain


def test_wechat_mp_safe_mode_vector() -> None:
    v = MP["wechat_oa_safe_sample"]
    crypt = wxcrypto.WxCrypt(v["token"], v["encoding_aes_key"], v["appid"])
    assert crypt.signature(v["timestamp"], v["nonce"], v["encrypt"]) == v["msg_signature"]
    assert v["plaintext_contains"] in crypt.open(v["encrypt"]).decode()


def test_wechat_mp_plain_signature_vectors() -> None:
    for case in MP["wechat_oa_plain_doc"]["cases"]:
        assert wxcrypto.sha1_signature(case["token"], case["timestamp"], case["nonce"]) == case["signature"]


def test_dingtalk_event_crypto_vector() -> None:
    v = DING["dingtalk_event_crypto_official"]
    crypt = wxcrypto.WxCrypt(v["token"], v["aes_key"], v["owner_key"])
    assert crypt.signature(v["timestamp"], v["nonce"], v["encrypt"]) == v["msg_signature"]
    assert crypt.open(v["encrypt"]).decode() == v["plaintext"]


def test_seal_is_readable_by_wechatpy() -> None:
    v = WECOM["wecom_official_sample_B"]
    crypt = wxcrypto.WxCrypt(v["token"], v["encoding_aes_key"], v["receive_id"])
    sealed = crypt.seal("你好, 世界".encode())
    assert PrpCrypto(wxcrypto.aes_key(v["encoding_aes_key"])).decrypt(sealed, v["receive_id"]) == "你好, 世界"


def test_wrong_receive_id_is_refused() -> None:
    v = WECOM["wecom_official_sample_B"]
    crypt = wxcrypto.WxCrypt(v["token"], v["encoding_aes_key"], "ww-someone-else")
    with pytest.raises(wxcrypto.WxCryptError, match="ReceiveId"):
        crypt.open(v["get"]["echostr"])


def test_altered_ciphertext_fails_signature() -> None:
    v = WECOM["wecom_official_sample_B"]["post"]
    crypt = wxcrypto.WxCrypt("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6" * 43, "x")
    altered = "A" + v["encrypt"][1:]
    assert not crypt.signature_ok(v["msg_signature"], v["timestamp"], v["nonce"], altered)


@pytest.mark.parametrize("bad", ["short", "!" * 43, "A" * 42 + "="])
def test_bad_encoding_aes_key(bad: str) -> None:
    with pytest.raises(wxcrypto.WxCryptError):
        wxcrypto.aes_key(bad)


def test_secrets_not_in_repr() -> None:
    crypt = wxcrypto.WxCrypt("tok-secret", "k" * 43, "corp")
    assert "tok-secret" not in repr(crypt) and "k" * 43 not in repr(crypt)


@given(st.text(max_size=200))
def test_decrypt_of_arbitrary_text_raises_only_wxcrypterror(ciphertext: str) -> None:
    key = wxcrypto.aes_key("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")
    with contextlib.suppress(wxcrypto.WxCryptError):
        wxcrypto.decrypt(key, ciphertext)


@given(st.integers(1, 4).flatmap(lambda n: st.binary(min_size=32 * n, max_size=32 * n)))
def test_decrypt_of_aligned_garbage_raises_only_wxcrypterror(raw: bytes) -> None:
    key = wxcrypto.aes_key("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")
    with contextlib.suppress(wxcrypto.WxCryptError):
        wxcrypto.decrypt(key, base64.b64encode(raw).decode())


@given(st.binary(max_size=300))
def test_parse_xml_of_arbitrary_bytes_raises_only_wxcrypterror(body: bytes) -> None:
    with contextlib.suppress(wxcrypto.WxCryptError):
        assert isinstance(wxcrypto.parse_xml(body), dict)


def test_parse_xml_refuses_entities() -> None:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><C>&a;</C></xml>'
    with pytest.raises(wxcrypto.WxCryptError, match="DTD"):
        wxcrypto.parse_xml(bomb)
    with pytest.raises(wxcrypto.WxCryptError, match="DTD"):
        wxcrypto.parse_xml(b'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml/>')


def test_user_text_that_looks_like_markup_is_kept() -> None:
    body = '<?xml version="1.0"?><xml><Content><![CDATA[<!-- 不是注释 <!DOCTYPE> ]]></Content></xml>'.encode()
    assert wxcrypto.parse_xml(body) == {"Content": "<!-- 不是注释 <!DOCTYPE> "}


def test_parse_xml_reads_cdata_fields() -> None:
    body = b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgId>42</MsgId></xml>"
    assert wxcrypto.parse_xml(body) == {"ToUserName": "gh_1", "MsgId": "42"}
