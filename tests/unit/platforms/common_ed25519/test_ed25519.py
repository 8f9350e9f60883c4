"""RFC 8032 §7.1 known answers and the never-raise contract of the shared Ed25519 helpers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley_runtime.platforms.common import ed25519

RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_reproduce(seed: str, public: str, message: str, signature: str) -> None:
    seed_b, msg = bytes.fromhex(seed), bytes.fromhex(message)
    assert ed25519.public_key(seed_b).hex() == public
    assert ed25519.sign_hex(seed_b, msg) == signature
    assert ed25519.verify_hex(bytes.fromhex(public), msg, signature)


def test_altered_message_or_signature_is_refused() -> None:
    _, public, _, signature = RFC8032[1]
    pub = bytes.fromhex(public)
    assert not ed25519.verify_hex(pub, b"\x73", signature)
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not ed25519.verify_hex(pub, b"\x72", flipped)
    other = ed25519.public_key(bytes.fromhex(RFC8032[0][0]))
    assert not ed25519.verify_hex(other, b"\x72", signature)


def test_non_canonical_high_bits_are_refused() -> None:
    _, public, message, signature = RFC8032[0]
    raw = bytearray.fromhex(signature)
    raw[63] |= 0xE0
    assert not ed25519.verify_hex(bytes.fromhex(public), bytes.fromhex(message), raw.hex())


@pytest.mark.parametrize("signature", ["", "zz", "00" * 63, "00" * 65, "g" * 128])
def test_malformed_signatures_are_false_not_errors(signature: str) -> None:
    assert not ed25519.verify_hex(bytes.fromhex(RFC8032[0][1]), b"", signature)


@settings(max_examples=200, deadline=None)
@given(public=st.binary(max_size=40), message=st.binary(max_size=64), signature=st.text(max_size=140))
def test_verify_never_raises(public: bytes, message: bytes, signature: str) -> None:
    assert not ed25519.verify_hex(public, message, signature)
