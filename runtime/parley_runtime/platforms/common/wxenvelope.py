"""The encrypted callback envelope of WeCom and of WeChat MP in safe mode, opened one way for both.

A callback body is `<xml>…<Encrypt>…</Encrypt></xml>` (the `wxcrypto` layout), signed by `msg_signature`
in the query: SHA1 over our token, `timestamp`, `nonce` and Encrypt. `Envelope.open_callback` runs the
checks in this order, each refusal answered as shown:

1. the body is flat XML with a non-empty Encrypt — else 400;
2. `msg_signature`, `timestamp` and `nonce` are present and sign Encrypt with our token — else 401
   `bad-signature`;
3. the signed timestamp lies within the platform's replay window — else 401 `stale-timestamp`;
4. Encrypt decrypts with our key and names our ReceiveId (corpId, appId) — else 401 `bad-signature`:
   signed with our token but encrypted for someone else, which WeCom's docs answer with 401;
5. the plaintext is the XML callback — else 400.

WeCom's URL check (GET) runs steps 2 to 4 on `echostr` (`Envelope.open_signed`). Both platforms take
the URL check as a GET and callbacks as POSTs (`route`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.common import webhook, wxcrypto

__all__ = ["Envelope", "Wording", "from_credentials", "route"]


def route(
    request: WebhookRequest,
    *,
    url_check: Callable[[Mapping[str, str]], WebhookResult],
    callback: Callable[[WebhookRequest], WebhookResult],
) -> WebhookResult:
    """The console's URL check (GET, answered from the query alone), a callback (POST), or a 405."""
    if request.method == "GET":
        return url_check(request.query)
    if request.method == "POST":
        return callback(request)
    return webhook.error(405, "method not allowed")


@dataclass(frozen=True)
class Wording:
    """How one platform's refusals name things."""

    receive_id: str  # the credential holding the ReceiveId, named as the console names it: "corpId"
    platform: str  # "WeCom", "WeChat"
    callback: str  # what the platform calls one callback: "callback", "message"


@dataclass(frozen=True)
class Envelope:
    """One callback endpoint: its secrets, its replay window and the words its refusals use."""

    crypt: wxcrypto.WxCrypt
    window: webhook.ReplayWindow
    wording: Wording

    def open_callback(
        self, body: bytes, query: Mapping[str, str], now: float
    ) -> dict[str, str] | WebhookResult:
        """The decrypted callback's fields, or the answer refusing the request (steps 1 to 5)."""
        try:
            outer = wxcrypto.parse_xml(body)
        except wxcrypto.WxCryptError:
            return webhook.error(400, f"body is not a {self.wording.platform} XML {self.wording.callback}")
        encrypted = outer.get("Encrypt", "")
        if not encrypted:
            return webhook.error(400, "Encrypt is missing")
        plain = self.open_signed(encrypted, query, now)
        if isinstance(plain, WebhookResult):
            return plain
        try:
            return wxcrypto.parse_xml(plain)
        except wxcrypto.WxCryptError:
            return webhook.error(400, f"Encrypt does not decrypt to an XML {self.wording.callback}")

    def open_signed(self, encrypted: str, query: Mapping[str, str], now: float) -> bytes | WebhookResult:
        """`encrypted` decrypted, or the answer refusing it (steps 2 to 4); `now` is the adapter's clock."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            return webhook.bad_signature()
        if not self.crypt.signature_ok(signature, timestamp, nonce, encrypted):
            return webhook.bad_signature()
        if not webhook.fresh(timestamp, now, self.window):
            return webhook.stale_timestamp()
        try:
            return self.crypt.open(encrypted)
        except wxcrypto.WxCryptError:
            return webhook.error(401, f"Encrypt is not for this {self.wording.receive_id}", "bad-signature")


def from_credentials(
    credentials: Mapping[str, str],
    window: webhook.ReplayWindow,
    wording: Wording,
    *,
    platform: str,
    binding: str,
) -> Envelope:
    """The envelope of a binding whose credentials hold `token`, `encodingAESKey` and the ReceiveId (under
    `wording.receive_id`); a malformed EncodingAESKey fails here, when the adapter is built."""
    try:
        wxcrypto.aes_key(credentials["encodingAESKey"])
    except wxcrypto.WxCryptError as exc:
        raise ValueError(f"{platform} binding {binding}: encodingAESKey invalid ({exc})") from None
    token, key, receive_id = (credentials[k] for k in ("token", "encodingAESKey", wording.receive_id))
    return Envelope(wxcrypto.WxCrypt(token, key, receive_id), window, wording)
