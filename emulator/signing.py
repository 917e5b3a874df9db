"""AK/SK request signing (docs/platform.md, "AK/SK signing"): the signature itself and the server-side check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from emulator.apps import App, AppRegistry
from emulator.errors import ApiError
from emulator.principal import Principal

MAX_SKEW_SECONDS = 300
REPLAY_WINDOW_SECONDS = 300


def string_to_sign(
    method: str, secret_id: str, nonce: str, timestamp: str, target: str, body: bytes | str = b""
) -> bytes:
    """The exact bytes the platform signs; ``target`` is path + "?" + query exactly as sent."""
    raw_body = body.encode("utf-8") if isinstance(body, str) else body
    head = f"{method.upper()}\nX-TC-Key={secret_id}&X-TC-Nonce={nonce}&X-TC-Timestamp={timestamp}\n{target}\n"
    return head.encode("utf-8") + raw_body


def sign(
    secret_key: str,
    method: str,
    secret_id: str,
    nonce: str,
    timestamp: str,
    target: str,
    body: bytes | str = b"",
) -> str:
    """base64 of the lower-case hex HMAC-SHA256 (the hex *string* is encoded, as the SDKs do)."""
    digest = hmac.new(
        secret_key.encode("utf-8"),
        string_to_sign(method, secret_id, nonce, timestamp, target, body),
        hashlib.sha256,
    ).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def signed_headers(
    app: App,
    method: str,
    target: str,
    body: bytes | str = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Every header an SDK sends for one AK/SK request of ``app``."""
    if app.secret_id is None or app.secret_key is None or app.app_id is None:
        raise ValueError(f"app {app.sdk_id} has no AK/SK credentials")
    ts = str(int(time.time()) if timestamp is None else timestamp)
    # The SDKs' form: unique per millisecond unless two random suffixes collide.
    nonce_value = nonce if nonce is not None else str(time.time_ns() // 1_000_000 * 1_000_000 + secrets.randbelow(10**6))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-TC-Key": app.secret_id,
        "X-TC-Timestamp": ts,
        "X-TC-Nonce": nonce_value,
        "X-TC-Signature": sign(app.secret_key, method, app.secret_id, nonce_value, ts, target, body),
        "AppId": app.app_id,
        "SdkId": app.sdk_id,
        "X-TC-Registered": "1",
    }


def check_timestamp(raw: str | None, now: float, max_skew: float = MAX_SKEW_SECONDS) -> int:
    """Parse X-TC-Timestamp and enforce the skew limit (190300)."""
    try:
        ts = int(raw or "")
    except ValueError:
        raise ApiError(190300, "X-TC-Timestamp is missing or not unix seconds", 400) from None
    if abs(now - ts) > max_skew:
        raise ApiError(190300, "X-TC-Timestamp expired: client clock is more than 5 minutes off", 400)
    return ts


class NonceCache:
    """Seen (key, timestamp, nonce) triples for the replay window, bounded in size."""

    def __init__(self, window: float = REPLAY_WINDOW_SECONDS, max_entries: int = 200_000) -> None:
        self._window = window
        self._max = max_entries
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen_before(self, key: tuple[str, str, str]) -> bool:
        """Record ``key``; True if it was already recorded within the window."""
        now = time.monotonic()
        with self._lock:
            while self._seen:
                oldest_key, at = next(iter(self._seen.items()))
                if now - at <= self._window and len(self._seen) < self._max:
                    break
                del self._seen[oldest_key]
            if key in self._seen:
                return True
            self._seen[key] = now
            return False


class AkSkVerifier:
    """Checks AK/SK headers and signature; answers the Principal of the calling app."""

    def __init__(
        self,
        apps: AppRegistry,
        admin_of: Callable[[App], str],
        *,
        signature_http_status: int = 400,
        max_skew: float = MAX_SKEW_SECONDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._apps = apps
        self._admin_of = admin_of
        self._status = signature_http_status
        self._max_skew = max_skew
        self._wall = wall
        self._nonces = NonceCache()

    def authenticate(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Principal:
        secret_id = headers.get("x-tc-key", "")
        app = self._apps.by_secret_id(secret_id) if secret_id else None
        if app is None or app.secret_key is None or not app.activated:
            raise ApiError(
                190303,
                "Unknown X-TC-Key or AppId: check AppId and X-TC-Key, and omit SdkId if none was assigned",
                400,
            )
        if headers.get("appid", "") != app.app_id:
            raise ApiError(190303, "AppId does not match X-TC-Key: check AppId", 400)
        sdk_id = headers.get("sdkid", "")
        if sdk_id and sdk_id != app.sdk_id:
            raise ApiError(190303, "SdkId does not match X-TC-Key: omit SdkId if none was assigned", 400)
        timestamp = headers.get("x-tc-timestamp")
        check_timestamp(timestamp, self._wall(), self._max_skew)
        nonce = headers.get("x-tc-nonce", "")
        if not nonce:
            raise ApiError(200003, "Signature failed!", self._status)
        expected = sign(app.secret_key, method, secret_id, nonce, str(timestamp), target, body)
        if not hmac.compare_digest(expected, headers.get("x-tc-signature", "")):
            raise ApiError(200003, "Signature failed!", self._status)
        # Only a correctly signed request is remembered, so forged traffic cannot poison the cache.
        if self._nonces.seen_before((secret_id, str(timestamp), nonce)):
            raise ApiError(190301, "Replayed request: X-TC-Nonce was already used with this timestamp", 400)
        return Principal(
            sdk_id=app.sdk_id,
            app_type=app.type,
            mode="aksk",
            userid=self._admin_of(app),
            open_id=None,
            scopes=app.scopes,
            quota_key=f"app:{app.sdk_id}",
        )
