"""Ed25519 over PyNaCl for the platforms that sign callbacks with it (Discord, QQ), and the callback
check both do the same way (`signed_json`): QQ adopted Discord's headers and signed message.

Verification never raises: malformed keys or signatures are simply "not valid", so a forged or junk
request can only ever produce a 401, not an exception.
"""

from typing import Any

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

from parley_runtime.core.protocols import WebhookRequest, WebhookResult
from parley_runtime.platforms.common import webhook

__all__ = ["SEED_BYTES", "public_key", "sign_hex", "signed_json", "verify_hex"]

SEED_BYTES = 32
_SIGNATURE_BYTES = 64


def public_key(seed: bytes) -> bytes:
    """The 32-byte public key of the RFC 8032 key pair derived from `seed`."""
    return bytes(SigningKey(seed).verify_key)


def sign_hex(seed: bytes, message: bytes) -> str:
    """Lower-case hex of the detached signature of `message` with the key pair from `seed`."""
    return SigningKey(seed).sign(message).signature.hex()


def verify_hex(public: bytes, message: bytes, signature_hex: str) -> bool:
    """True only for a well-formed, canonical signature of `message` by `public`."""
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    # A canonical S has its top three bits clear (QQ's docs check this explicitly; libsodium does too).
    if len(signature) != _SIGNATURE_BYTES or len(public) != SEED_BYTES or signature[63] & 0xE0:
        return False
    try:
        VerifyKey(public).verify(message, signature)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True


def signed_json(
    request: WebhookRequest, public: bytes, *, now: float, window: webhook.ReplayWindow
) -> dict[str, Any] | WebhookResult:
    """The JSON object of a callback POST whose `X-Signature-Ed25519` signs `X-Signature-Timestamp` + the
    raw body with `public`, the timestamp within `window` of `now`; else the answer refusing it (405, 401
    bad-signature or stale-timestamp, 400)."""
    if request.method.upper() != "POST":
        return webhook.error(405, "use POST")
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = headers.get("x-signature-timestamp", "")
    if not verify_hex(public, timestamp.encode() + request.body, headers.get("x-signature-ed25519", "")):
        return webhook.error(401, "invalid request signature", reason="bad-signature")
    if not webhook.fresh(timestamp, now, window):
        return webhook.stale_timestamp()
    return webhook.json_body(request.body)
