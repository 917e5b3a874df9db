"""AK/SK request signing (docs/platform.md, "AK/SK signing") as an ``httpx.Auth``: every attempt is signed afresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator

import httpx
from pydantic import SecretStr

from resources.tencent.redact import register_secret

SDK_USER_AGENT = "tmeet-etl/0.1"


def string_to_sign(method: str, secret_id: str, nonce: str, timestamp: str, uri: str, body: bytes) -> bytes:
    head = f"{method.upper()}\nX-TC-Key={secret_id}&X-TC-Nonce={nonce}&X-TC-Timestamp={timestamp}\n{uri}\n"
    return head.encode() + body


def sign(secret_key: str, method: str, secret_id: str, nonce: str, timestamp: str, uri: str, body: bytes) -> str:
    """``base64(hex(HMAC-SHA256(key, string_to_sign)))``: the hex *string* is base64-encoded."""
    digest = hmac.new(
        secret_key.encode(), string_to_sign(method, secret_id, nonce, timestamp, uri, body), hashlib.sha256
    ).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def new_nonce() -> str:
    # Unique per attempt: a repeated (timestamp, nonce) pair is rejected as a replay (190301).
    return str(time.time_ns() // 1000 * 1000 + secrets.randbelow(1000) + 1)


class AkSkAuth(httpx.Auth):
    """Signs the raw path+query and the body bytes exactly as httpx will send them."""

    requires_request_body = True

    def __init__(
        self,
        app_id: str,
        secret_id: str,
        secret_key: SecretStr,
        sdk_id: str = "",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = new_nonce,
    ) -> None:
        self._app_id = app_id
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._sdk_id = sdk_id
        self._clock = clock
        self._nonce = nonce
        register_secret(secret_key.get_secret_value())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(self._clock()))
        nonce = self._nonce()
        uri = request.url.raw_path.decode("ascii")
        body = request.content
        request.headers["X-TC-Key"] = self._secret_id
        request.headers["X-TC-Timestamp"] = timestamp
        request.headers["X-TC-Nonce"] = nonce
        request.headers["X-TC-Signature"] = sign(
            self._secret_key.get_secret_value(), request.method, self._secret_id, nonce, timestamp, uri, body
        )
        request.headers["AppId"] = self._app_id
        if self._sdk_id:
            request.headers["SdkId"] = self._sdk_id
        request.headers["X-TC-Registered"] = "1"
        yield request
