"""The WeChat-family callback envelope: each check in its order, with the answer it gives."""

import json

import pytest

from parley_runtime.core.protocols import WebhookResult
from parley_runtime.platforms.common import webhook, wxcrypto, wxenvelope

NOW = 1_700_000_000
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CRYPT = wxcrypto.WxCrypt("token-1", KEY, "ww-ours")
WORDING = wxenvelope.Wording(receive_id="corpId", platform="WeCom", callback="callback")
ENVELOPE = wxenvelope.Envelope(CRYPT, webhook.ReplayWindow(behind=300, ahead=300), WORDING)
INNER = b"<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"


def request(
    inner: bytes = INNER, *, receive_id: str = "ww-ours", timestamp: int = NOW, token: str = "token-1"
) -> tuple[bytes, dict[str, str]]:
    """(body, query) as the platform sends them: `inner` sealed for `receive_id`, signed with `token`."""
    encrypted = wxcrypto.WxCrypt(token, KEY, receive_id).seal(inner)
    signature = wxcrypto.sha1_signature(token, str(timestamp), "nonce-1", encrypted)
    query = {"msg_signature": signature, "timestamp": str(timestamp), "nonce": "nonce-1"}
    return f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(), query


def refusal(result: dict[str, str] | bytes | WebhookResult) -> tuple[int, str, str]:
    assert isinstance(result, WebhookResult)
    return result.status, result.reason, json.loads(result.body)["error"]


def test_a_signed_fresh_callback_for_us_opens_to_its_fields() -> None:
    body, query = request()
    assert ENVELOPE.open_callback(body, query, NOW) == {"MsgType": "text", "Content": "hi"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not xml", "body is not a WeCom XML callback"),
        (b"<xml><Other>x</Other></xml>", "Encrypt is missing"),
    ],
)
def test_the_outer_xml_comes_first(body: bytes, error: str) -> None:
    assert refusal(ENVELOPE.open_callback(body, {}, NOW)) == (400, "", error)


@pytest.mark.parametrize("missing", ["msg_signature", "timestamp", "nonce"])
def test_a_missing_signature_parameter_is_a_bad_signature(missing: str) -> None:
    body, query = request()
    del query[missing]
    assert refusal(ENVELOPE.open_callback(body, query, NOW)) == (401, "bad-signature", "signature mismatch")


def test_the_signature_is_checked_before_the_window() -> None:
    body, query = request(token="another-token", timestamp=NOW - 10_000)
    assert refusal(ENVELOPE.open_callback(body, query, NOW)) == (401, "bad-signature", "signature mismatch")


@pytest.mark.parametrize(("offset", "fresh"), [(-300, True), (-301, False), (300, True), (301, False)])
def test_the_replay_window(offset: int, fresh: bool) -> None:
    body, query = request(timestamp=NOW + offset)
    result = ENVELOPE.open_callback(body, query, NOW)
    if fresh:
        assert isinstance(result, dict)
    else:
        assert refusal(result) == (401, "stale-timestamp", "timestamp outside the replay window")


def test_signed_but_encrypted_for_another_receive_id_is_401() -> None:
    body, query = request(receive_id="ww-someone-else")
    assert refusal(ENVELOPE.open_callback(body, query, NOW)) == (
        401,
        "bad-signature",
        "Encrypt is not for this corpId",
    )


def test_a_plaintext_that_is_not_xml_is_400() -> None:
    body, query = request(b"not xml inside")
    assert refusal(ENVELOPE.open_callback(body, query, NOW)) == (
        400,
        "",
        "Encrypt does not decrypt to an XML callback",
    )


def test_open_signed_answers_the_url_check() -> None:
    echostr = CRYPT.seal(b"5927782489442352469")
    signature = wxcrypto.sha1_signature("token-1", str(NOW), "n", echostr)
    query = {"msg_signature": signature, "timestamp": str(NOW), "nonce": "n"}
    assert ENVELOPE.open_signed(echostr, query, NOW) == b"5927782489442352469"
    assert refusal(ENVELOPE.open_signed(echostr, query, NOW + 301))[:2] == (401, "stale-timestamp")


def test_from_credentials_reads_the_receive_id_the_wording_names() -> None:
    creds = {"token": "token-1", "encodingAESKey": KEY, "corpId": "ww-ours"}
    envelope = wxenvelope.from_credentials(creds, ENVELOPE.window, WORDING, platform="wecom", binding="b")
    assert envelope == ENVELOPE


def test_from_credentials_refuses_a_bad_key_naming_the_binding_not_the_key() -> None:
    creds = {"token": "token-1", "encodingAESKey": "short", "corpId": "ww-ours"}
    with pytest.raises(ValueError, match="wecom binding b: encodingAESKey invalid") as info:
        wxenvelope.from_credentials(creds, ENVELOPE.window, WORDING, platform="wecom", binding="b")
    assert "short" not in str(info.value)
