from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resources.webhooks.crypto import (
    AesCipher,
    WebhookDecodeError,
    compute_signature,
    decode_base64,
    decode_data,
    verify_signature,
)

# DOC-51612 "验证示例": the published inputs and signature, copied verbatim.
DOC_TOKEN = "bVPU6F8Htxl5XkAbp3jGV2xWp"
DOC_TIMESTAMP = "1609239040864"
DOC_NONCE = "14964161"
DOC_DATA = (
    "eyJldmVudCI6Im1lZXRpbmcuY3JlYXRlZCIsInVuaXF1ZV9zZXF1ZW5jZSI6ImYyMDA5NmVlLThhYzgt"
    "NGRmMi1hN2RlLTA1NzQ2NDlmMjExYiIsInBheWxvYWQiOlt7Im9wZXJhdGVfdGltZSI6IjIwMjAtMTIt"
    "MjkgMTc6NDE6MDYiLCJvcGVyYXRvciI6eyJ1c2VyaWQiOiJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMx"
    "M2M5MzBjY2E5NTY4NCJ9LCJtZWV0aW5nX2luZm8iOnsibWVldGluZ19pZCI6IjYwNTg4OTAzODU0ODA5"
    "MjEwNTIiLCJtZWV0aW5nX2NvZGUiOiI1MzA4MTI0NTIiLCJzdWJqZWN0IjoibWVkaWEgdGVzdGVyIG1l"
    "ZXRpbmciLCJjcmVhdG9yX2lkIjoidGVzdGVyMDAwMDZiYTViYWIzMzk4NThjMTNjOTMwY2NhOTU2ODQi"
    "LCJob3N0cyI6WyJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJdLCJtZWV0aW5n"
    "X3R5cGUiOjAsInN0YXJ0X3RpbWUiOiIyMDIwLTEyLTI5IDE3OjQxOjA0IiwiZW5kX3RpbWUiOiIyMDIw"
    "LTEyLTI5IDE4OjAxOjA0In19XX0"
)
DOC_SIGNATURE = "b11e507817336a91d7df0c8536ee2aca18bbbae8"

# DOC-54658 scheme, docs/platform.md, "Webhooks" (encryption vector).
DOC_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DOC_AES_PLAINTEXT = b"hello-check"
DOC_AES_CIPHERTEXT = "YnHy14NsKhY55Rz1BYrElA=="


def test_published_signature_vector() -> None:
    assert compute_signature(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_DATA) == DOC_SIGNATURE
    assert verify_signature(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_DATA, DOC_SIGNATURE)


def test_published_sample_decodes_without_padding() -> None:
    sample = json.loads(decode_data(DOC_DATA, None))
    assert sample["event"] == "meeting.created"
    assert sample["unique_sequence"] == "f20096ee-8ac8-4df2-a7de-0574649f211b"


@pytest.mark.parametrize(
    "field",
    ["token", "timestamp", "nonce", "data"],
)
def test_any_changed_input_fails_the_signature(field: str) -> None:
    parts = {"token": DOC_TOKEN, "timestamp": DOC_TIMESTAMP, "nonce": DOC_NONCE, "data": DOC_DATA}
    parts[field] = parts[field][:-1] + ("A" if parts[field][-1] != "A" else "B")
    assert not verify_signature(parts["token"], parts["timestamp"], parts["nonce"], parts["data"], DOC_SIGNATURE)


@pytest.mark.parametrize("signature", ["", "zz" * 20, DOC_SIGNATURE[:-1], DOC_SIGNATURE + "0", " " + DOC_SIGNATURE[1:]])
def test_malformed_signatures_are_refused(signature: str) -> None:
    assert not verify_signature(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_DATA, signature)


def test_published_aes_vector() -> None:
    cipher = AesCipher(DOC_AES_KEY)
    assert cipher.encrypt(DOC_AES_PLAINTEXT) == DOC_AES_CIPHERTEXT
    assert cipher.decrypt(DOC_AES_CIPHERTEXT) == DOC_AES_PLAINTEXT
    assert DOC_AES_KEY not in repr(cipher)


@settings(max_examples=50)
@given(plaintext=st.binary(max_size=600))
def test_aes_round_trip(plaintext: bytes) -> None:
    cipher = AesCipher(DOC_AES_KEY)
    assert decode_data(cipher.encrypt(plaintext), cipher) == plaintext


def test_wrong_key_is_a_decode_error() -> None:
    other = AesCipher("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut")
    ciphertext = AesCipher(DOC_AES_KEY).encrypt(b'{"event":"x"}')
    with pytest.raises(WebhookDecodeError):
        other.decrypt(ciphertext)


@pytest.mark.parametrize(
    "data",
    ["", "not base64!", "YWJj" + "=" * 3, base64.b64encode(b"short").decode(), base64.b64encode(bytes(17)).decode()],
)
def test_broken_ciphertexts_are_decode_errors(data: str) -> None:
    with pytest.raises(WebhookDecodeError):
        AesCipher(DOC_AES_KEY).decrypt(data)


@pytest.mark.parametrize("text", ["YWJj\n", "YW Jj", "Y", "YWJj=", "YWJj-_"])
def test_base64_is_strict(text: str) -> None:
    with pytest.raises(WebhookDecodeError):
        decode_base64(text)


@pytest.mark.parametrize("key", ["short", DOC_AES_KEY[:-1] + "!"])
def test_aes_key_shape_is_checked(key: str) -> None:
    with pytest.raises(ValueError):
        AesCipher(key)
