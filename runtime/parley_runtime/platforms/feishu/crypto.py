"""Feishu's Encrypt Key scheme: AES-256-CBC with key SHA256(encryptKey), IV prepended; SHA-256 signature."""

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class FeishuCryptoError(ValueError):
    """The `encrypt` value is not something our Encrypt Key produced."""


def decrypt(encrypt_key: str, encrypted: str) -> str:
    """base64(IV || AES-CBC(SHA256(key), PKCS#7(plaintext))) → plaintext."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise FeishuCryptoError("encrypt is not base64") from None
    if len(raw) < 32 or len(raw) % 16:
        raise FeishuCryptoError("encrypt has a bad length")
    key = hashlib.sha256(encrypt_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode()
    except (ValueError, UnicodeDecodeError):
        raise FeishuCryptoError("encrypt does not decrypt with this key") from None


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """X-Lark-Signature: hex SHA-256 over timestamp + nonce + encrypt key + the raw body bytes."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def signature_ok(given: str, timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> bool:
    expected = signature(timestamp, nonce, encrypt_key, body)
    return hmac.compare_digest(expected.encode(), given.lower().encode())
