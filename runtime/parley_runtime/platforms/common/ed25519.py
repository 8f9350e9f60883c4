"""Ed25519 over PyNaCl for the platforms that sign callbacks with it (Discord, QQ).

Verification never raises: malformed keys or signatures are simply "not valid", so a forged or junk
request can only ever produce a 401, not an exception.
"""

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

__all__ = ["SEED_BYTES", "public_key", "sign_hex", "verify_hex"]

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
