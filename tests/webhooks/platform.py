"""The platform's side of a callback, built on the emulator's sender primitives (an independent implementation)."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from emulator.webhooks import encode_payload, signature

TOKEN = "Tk9aQ3xYvB7mW2pL5sR8nJ4hG"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


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
        return {"timestamp": ts, "nonce": nc, "signature": signature(self.token, ts, nc, data)}

    def post(self, evt: dict[str, Any] | bytes, **kw: str) -> tuple[dict[str, str], bytes]:
        """(headers, body) for one event delivery."""
        plaintext = evt if isinstance(evt, bytes) else json.dumps(evt).encode()
        data = encode_payload(self.aes_key, plaintext)
        return self.headers(data, **kw), json.dumps({"data": data}).encode()

    def verify_url(self, plaintext: str, **kw: str) -> tuple[dict[str, str], str]:
        """(headers, query string) for the URL-verification GET."""
        check_str = encode_payload(self.aes_key, plaintext.encode())
        return self.headers(check_str, **kw), "check_str=" + quote(check_str, safe="")
