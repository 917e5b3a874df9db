"""A minimal stand-in for the platform's side of a callback, written from the contract, not from the receiver."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "Tk9aQ3xYvB7mW2pL5sR8nJ4hG"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def sign(token: str, timestamp: str, nonce: str, data: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def aes_encrypt(encoding_aes_key: str, plaintext: bytes) -> str:
    key = base64.b64decode(encoding_aes_key + "=")
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize()).decode()


def encode(plaintext: bytes, aes_key: str | None) -> str:
    return aes_encrypt(aes_key, plaintext) if aes_key else base64.b64encode(plaintext).decode()


def event(trace_id: str | None = None, kind: str = "meeting.participant-joined", **extra: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "trace_id": trace_id or str(uuid.uuid4()),
        "payload": [
            {
                "operate_time": int(time.time() * 1000),
                "operator": {"userid": "tester", "uuid": "WMfgHRYj6m36mcDGtK", "instance_id": "2"},
                "meeting_info": {"meeting_id": "13339451618278424869", "meeting_code": "445999969"},
                **extra,
            }
        ],
    }


@dataclass
class Platform:
    """Builds signed callback requests the way the platform sends them."""

    token: str = TOKEN
    aes_key: str | None = None
    clock_offset_s: float = 0.0

    def headers(self, data: str, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = timestamp or str(int((time.time() + self.clock_offset_s) * 1000))
        nc = nonce or str(secrets.randbelow(10**9))
        return {"timestamp": ts, "nonce": nc, "signature": sign(self.token, ts, nc, data)}

    def post(self, evt: dict[str, Any] | bytes, **kw: str) -> tuple[dict[str, str], bytes]:
        """(headers, body) for one event delivery."""
        plaintext = evt if isinstance(evt, bytes) else json.dumps(evt).encode()
        data = encode(plaintext, self.aes_key)
        return self.headers(data, **kw), json.dumps({"data": data}).encode()

    def verify_url(self, plaintext: str, **kw: str) -> tuple[dict[str, str], str]:
        """(headers, query string) for the URL-verification GET."""
        check_str = encode(plaintext.encode(), self.aes_key)
        return self.headers(check_str, **kw), "check_str=" + quote(check_str, safe="")
