"""QQ's webhook signatures: an Ed25519 key pair whose seed is the app secret repeated to 32 bytes (pure).

QQ signs every callback with that key pair over `X-Signature-Timestamp + raw body`; the op 13
validation is answered by signing `event_ts + plain_token` with it.
"""

from parley_runtime.platforms.common import ed25519

__all__ = ["public_key", "seed_from_secret", "sign_validation", "verify"]


def seed_from_secret(secret: str) -> bytes:
    raw = secret.encode()
    if not raw:
        raise ValueError("the QQ app secret is empty")
    while len(raw) < ed25519.SEED_BYTES:
        raw *= 2
    return raw[: ed25519.SEED_BYTES]


def public_key(secret: str) -> bytes:
    return ed25519.public_key(seed_from_secret(secret))


def sign_validation(secret: str, event_ts: str, plain_token: str) -> str:
    return ed25519.sign_hex(seed_from_secret(secret), (event_ts + plain_token).encode())


def verify(public: bytes, timestamp: str, body: bytes, signature_hex: str) -> bool:
    return ed25519.verify_hex(public, timestamp.encode() + body, signature_hex)
