"""Tencent Meeting callback crypto: the sorted SHA-1 signature (DOC-51612) and AES-256-CBC (DOC-54658)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_BLOCK = 16


class WebhookDecodeError(ValueError):
    """The signed ``data`` could not be turned into plaintext (bad base64, wrong key, bad padding)."""


def compute_signature(token: str, timestamp: str, nonce: str, data: str) -> str:
    """Lower-case hex SHA-1 of the four values sorted lexicographically and concatenated."""
    joined = "".join(sorted((token, timestamp, nonce, data)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def verify_signature(token: str, timestamp: str, nonce: str, data: str, signature: str) -> bool:
    """Constant-time check of ``signature``; anything but 40 hex digits is refused before hashing."""
    if not _HEX40.fullmatch(signature):
        return False
    expected = compute_signature(token, timestamp, nonce, data)
    return hmac.compare_digest(expected, signature.lower())


def decode_base64(text: str) -> bytes:
    """Strict standard-alphabet base64; the platform's own sample omits the trailing ``=``, so padding is optional."""
    if not _BASE64.fullmatch(text) or len(text) % 4 == 1:
        raise WebhookDecodeError("data is not base64")
    if "=" not in text:
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise WebhookDecodeError("data is not base64") from None


class AesCipher:
    """AES-256-CBC keyed by an EncodingAESKey: key = b64decode(key + "="), IV = key[:16], PKCS#7."""

    __slots__ = ("_key",)

    def __init__(self, encoding_aes_key: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("an EncodingAESKey has exactly 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("an EncodingAESKey uses only base64 letters, digits, '+' and '/'") from None
        self._key = key

    def __repr__(self) -> str:
        return "AesCipher(<key hidden>)"

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:_BLOCK]))

    def encrypt(self, plaintext: bytes) -> str:
        padder = padding.PKCS7(_BLOCK * 8).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def decrypt(self, ciphertext_b64: str) -> bytes:
        ciphertext = decode_base64(ciphertext_b64)
        if not ciphertext or len(ciphertext) % _BLOCK:
            raise WebhookDecodeError("ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            # A wrong key shows up here as garbage padding; say so without echoing any bytes.
            raise WebhookDecodeError("AES padding is invalid (wrong EncodingAESKey?)") from None


def decode_data(data: str, cipher: AesCipher | None) -> bytes:
    """Plaintext of a verified ``data`` or ``check_str``: base64, then AES when a key is configured."""
    return cipher.decrypt(data) if cipher is not None else decode_base64(data)
