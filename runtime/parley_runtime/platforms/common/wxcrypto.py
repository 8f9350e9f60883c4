"""The WXBizMsgCrypt callback layout shared by WeCom, WeChat MP safe mode and DingTalk event callbacks.

Ciphertext = Base64(AES-256-CBC(key, iv=key[:16], PKCS#7 to 32-byte blocks of
random(16) || len(msg) as 4 bytes big-endian || msg || receive_id)), where
key = Base64Decode(EncodingAESKey + "="). Signatures are hex SHA1 over the sorted, concatenated strings.
Pure functions only: no I/O, no clock. Error messages never contain keys or plaintext.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["WxCrypt", "WxCryptError", "aes_key", "decrypt", "encrypt", "parse_xml", "sha1_signature"]

_BLOCK_BITS = 256  # WeChat pads to 32-byte blocks, not AES's 16
_MAX_XML_BYTES = 1 << 20


class WxCryptError(ValueError):
    """The input is not a valid message of this layout (bad key, padding, length or XML)."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey of the console."""
    if len(encoding_aes_key) != 43:
        raise WxCryptError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise WxCryptError("EncodingAESKey is not valid base64") from None
    if len(key) != 32:
        raise WxCryptError("EncodingAESKey does not decode to 32 bytes")
    return key


def sha1_signature(*parts: str) -> str:
    """hex(SHA1(concat(sorted(parts)))) — the `signature` / `msg_signature` of every callback."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def encrypt(key: bytes, message: bytes, receive_id: str, *, nonce16: bytes | None = None) -> str:
    """Encrypt `message` for `receive_id`; `nonce16` is the random prefix (tests pin it)."""
    prefix = os.urandom(16) if nonce16 is None else nonce16
    plain = prefix + struct.pack(">I", len(message)) + message + receive_id.encode()
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(key: bytes, ciphertext: str) -> tuple[bytes, str]:
    """Return (message, receive_id); raise WxCryptError for anything malformed."""
    try:
        raw = base64.b64decode(ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise WxCryptError("ciphertext is not base64") from None
    if not raw or len(raw) % 32:
        raise WxCryptError("ciphertext length is not a multiple of 32")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 32 or padded[-pad:] != bytes([pad]) * pad:
        raise WxCryptError("bad padding")
    plain = padded[:-pad]
    if len(plain) < 20:
        raise WxCryptError("plaintext too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise WxCryptError("message length out of range")
    message, receive_id = plain[20 : 20 + length], plain[20 + length :]
    try:
        return message, receive_id.decode()
    except UnicodeDecodeError:
        raise WxCryptError("receive id is not UTF-8") from None


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat `<xml><Field>value</Field>…</xml>` map WeChat-family callbacks use.

    DTDs are refused before parsing (the platforms never send them), which rules out entity
    expansion and external entities; nested elements are ignored.
    """
    if len(body) > _MAX_XML_BYTES:
        raise WxCryptError("XML body too large")
    if not _starts_with_element(body):
        raise WxCryptError("XML must start with its root element (no DTD, no comments)")
    try:
        root = ET.fromstring(body)  # noqa: S314 -- DTDs rejected above, expat resolves no external entities
    except (ET.ParseError, ValueError):
        raise WxCryptError("body is not well-formed XML") from None
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


def _starts_with_element(body: bytes) -> bool:
    """A DTD can only sit in the prolog, so refusing anything but `<?xml …?>` before the root is enough."""
    head = body.lstrip()
    if head.startswith(b"<?xml"):
        end = head.find(b"?>")
        head = head[end + 2 :].lstrip() if end != -1 else b""
    return head[:1] == b"<" and head[1:2] not in (b"!", b"?", b"")


@dataclass(frozen=True)
class WxCrypt:
    """One callback endpoint's secrets: token, EncodingAESKey and the expected ReceiveId."""

    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    receive_id: str

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypted)

    def signature_ok(self, given: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        expected = self.signature(timestamp, nonce, encrypted)
        return hmac.compare_digest(expected.encode(), given.lower().encode())

    def open(self, encrypted: str) -> bytes:
        """Decrypt and require our ReceiveId; a mismatch means the message was meant for someone else."""
        message, receive_id = decrypt(aes_key(self.encoding_aes_key), encrypted)
        if not hmac.compare_digest(receive_id.encode(), self.receive_id.encode()):
            raise WxCryptError("ReceiveId does not match")
        return message

    def seal(self, message: bytes, *, nonce16: bytes | None = None) -> str:
        return encrypt(aes_key(self.encoding_aes_key), message, self.receive_id, nonce16=nonce16)
